// What is measured: targets, keys and bodies per scenario. See bench/README.md.
import { SECRETS } from './config.mjs';

const RUN = Date.now().toString(36); // fresh prompts per run: a miss is a miss
const chat = (model, content, extra = {}) => JSON.stringify({ model, temperature: 0, messages: [{ role: 'user', content }], ...extra });
const bearer = (secret) => ({ authorization: `Bearer ${secret}` });

export const KEYS = {
  limited: bearer(SECRETS.KEY_LIMITED),
  leased: bearer(SECRETS.KEY_LEASED),
  open: bearer(SECRETS.KEY_OPEN),
  tight: bearer(SECRETS.KEY_TIGHT),
  guarded: bearer(SECRETS.KEY_GUARDED),
};

/** Gateway paths. `key` is the key id in config.mjs. */
export const GATEWAY_PATHS = {
  miss: { label: 'cache miss', body: (tag) => (i) => chat('cached', `miss ${RUN} ${tag} ${i}`) },
  off: { label: 'cache off', body: () => () => chat('uncached', 'the same question') },
  hit: { label: 'cache hit', body: () => () => chat('cached', 'the hit') },
};

/** Bodies for the floor and Portkey: a plain chat call (they forward it upstream). */
export const PEER_BODY = () => chat('m', 'the same question');

/** Closed-loop rows: [target, path, key]; each at every connection count. */
export const CLOSED = [
  ['floor', 'peer'],
  ['portkey', 'peer'],
  ['gateway', 'miss', 'limited'],
  ['gateway', 'off', 'limited'],
  ['gateway', 'hit', 'limited'],
  ['gateway', 'miss', 'leased'],
  ['gateway', 'off', 'leased'],
  ['gateway', 'hit', 'leased'],
  ['gateway', 'miss', 'open'],
  ['gateway', 'off', 'open'],
  ['gateway', 'hit', 'open'],
  // Against `cache off, unlimited key`: what a typical guardrail set costs (bench/config.mjs).
  ['gateway', 'off', 'guarded'],
];

/** What one emulated binding costs alone: the floor paying for it first ([binding, label, connections]). */
export const BINDINGS = [
  ['kv', 'floor + 1 KV read', 16],
  ['kvput', 'floor + 1 KV write (1 KiB, new key, in waitUntil)', 16],
  ['do', 'floor + 1 Durable Object call (SQLite write)', 16],
  ['do2', 'floor + 2 Durable Object calls, one after the other', 16],
  ['d1log', 'floor + a call log row (batched D1 insert in waitUntil)', 16],
  // Against the 64-connection floor: the tail latency the emulated D1 log alone adds.
  ['d1log', 'floor + a call log row, 64 connections', 64],
];

/** Open-loop rows at a fixed rate. */
export const OPEN = [
  ['floor', 'peer'],
  ['portkey', 'peer'],
  ['gateway', 'miss', 'limited'],
  ['gateway', 'off', 'limited'],
  ['gateway', 'hit', 'limited'],
];

/** Stream rows: [label, target, body, key]. `replay` is primed first so that it is a cache hit. */
export const STREAMS = [
  ['upstream (direct)', 'upstream', () => chat('m', 'stream me', { stream: true })],
  ['floor', 'floor', () => chat('m', 'stream me', { stream: true })],
  ['portkey', 'portkey', () => chat('m', 'stream me', { stream: true })],
  ['gateway live (cache off)', 'gateway', () => chat('uncached', 'stream me', { stream: true }), 'limited'],
  // The same with a leased key: no concurrency rule, so no slot pool either.
  ['gateway live (cache off), leased key', 'gateway', () => chat('uncached', 'stream me', { stream: true }), 'leased'],
  ['gateway replayed from cache', 'gateway', () => chat('cached', 'stream the hit', { stream: true }), 'limited'],
  ['gateway live (cache off, unlimited key)', 'gateway', () => chat('uncached', 'stream me', { stream: true }), 'open'],
  ['gateway live (cache off, guardrails on)', 'gateway', () => chat('uncached', 'stream me', { stream: true }), 'guarded'],
  // Last in each turn: a miss leaves background work (its KV write and log flush) on the
  // gateway's thread, which the row after it would pay in its first chunk.
  ['gateway live (cache miss)', 'gateway', (i) => chat('cached', `stream miss ${RUN} ${i}`, { stream: true }), 'limited'],
];

const KEY_LABEL = { open: 'unlimited', limited: 'limited', leased: 'leased', guarded: 'guardrails-on' };
export const rowName = (target, path, key) => (target === 'gateway' ? `gateway ${GATEWAY_PATHS[path].label}, ${KEY_LABEL[key]} key` : target);
