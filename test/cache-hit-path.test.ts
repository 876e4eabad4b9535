import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import OpenAI from 'openai';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { KEY_MEMO_MAX_BYTES, KEY_MEMO_MAX_TEXT, KEY_MEMO_TTL_MS, memoizedKeys, recallKey, rememberKey } from '../src/cache/key-memo';
import gatewayWorker from '../src/index';
import { KEYS } from './support/constants';
import { guardKey, guardrailsBindings } from './support/guardrails-config';
import { BASE, client, inWorker, postWithEnv, sseData, testEnv, upstreamSaw, type TestEnv } from './support/gateway';

/**
 * The cache-hit path (issue 11): a byte-identical repeat of a request is keyed from
 * the isolate's memo (src/cache/key-memo.ts) instead of canonicalizing and hashing
 * again, and an entry's JSON and stream renderings are made once per entry
 * (src/cache/serve.ts). Neither may change what a request is keyed to or answered
 * with: each test asserts the key (x-gateway-cache-key), HIT or MISS, what the
 * upstream received, and what the client got.
 */

const CHAT = `${BASE}/v1/chat/completions`;
const fresh = (label: string) => `${label} ${crypto.randomUUID()}`;

/** A chat request as these exact bytes, from `key`, inside this isolate. */
function post(text: string, key: string = KEYS.teamA, headers: Record<string, string> = {}): Request {
  return new Request(CHAT, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'cf-connecting-ip': '198.51.100.7', ...headers },
    body: text,
  });
}

interface Seen {
  status: string | null;
  key: string | null;
  requestId: string;
  text: string;
}
async function seen(res: Response): Promise<Seen> {
  expect(res.status).toBe(200);
  return { status: res.headers.get('x-gateway-cache'), key: res.headers.get('x-gateway-cache-key'), requestId: res.headers.get('x-request-id')!, text: await res.text() };
}

/**
 * Counts the SHA-256 digests of canonical cache requests (canonical.ts starts each
 * with ["egw-cache") made while `run` runs, in this isolate.
 */
let keyHashes = 0;
const decoder = new TextDecoder();
function countKeyHashes() {
  const digest = crypto.subtle.digest.bind(crypto.subtle);
  vi.spyOn(crypto.subtle, 'digest').mockImplementation((algorithm, data) => {
    const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data as ArrayBuffer);
    if (decoder.decode(bytes.subarray(0, 12)) === '["egw-cache"') keyHashes++;
    return digest(algorithm, data);
  });
}
afterEach(() => {
  vi.restoreAllMocks();
  keyHashes = 0;
});

/** One call, its background work (the store) done before it resolves. */
const once = (request: Request, envPatch: Record<string, unknown> = {}) => inWorker(envPatch, async (fetch) => seen(await fetch(request)));

/** Calls until the entry is stored and served (writes run in waitUntil). */
async function untilHit(send: () => Promise<Seen>): Promise<Seen> {
  for (let i = 0; i < 50; i++) {
    const got = await send();
    if (got.status === 'HIT') return got;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('never a hit');
}

describe('cache keys of repeated requests', () => {
  it('keys a byte-identical repeat without canonicalizing or hashing it again, to the same key and entry', async () => {
    countKeyHashes();
    const text = JSON.stringify({ model: 'cached', temperature: 0, messages: [{ role: 'user', content: fresh('memo') }] });
    const miss = await once(post(text));
    expect(miss.status).toBe('MISS');
    expect(keyHashes).toBe(1);
    expect(await upstreamSaw(miss.requestId)).toHaveLength(1);

    const hit = await once(post(text));
    expect(hit).toMatchObject({ status: 'HIT', key: miss.key, text: miss.text });
    expect(keyHashes).toBe(1);
    expect(await upstreamSaw(hit.requestId)).toHaveLength(0);
  });

  it('shares one entry between byte-different but canonically equal requests', async () => {
    const content = fresh('same request, other bytes');
    const { data, response } = await client().chat.completions.create({ model: 'cached', temperature: 0, messages: [{ role: 'user', content }] }).withResponse();
    expect(response.headers.get('x-gateway-cache')).toBe('MISS');
    expect(data.choices[0]!.message.content).toBe(`echo: ${content}`);
    const key = response.headers.get('x-gateway-cache-key');

    const spellings = [
      JSON.stringify({ messages: [{ content, role: 'user' }], temperature: 0, model: 'cached' }),
      `{\n  "model": "cached",\n  "temperature": 0,\n  "messages": [ { "role": "user", "content": ${JSON.stringify(content)} } ]\n}`,
      JSON.stringify({ model: 'cached', temperature: 0, user: 'someone', messages: [{ role: 'user', content: `  ${content}\r\n` }] }),
    ];
    for (const text of spellings) {
      // Each spelling twice: computed the first time, from the memo the second.
      for (let i = 0; i < 2; i++) {
        const got = await untilHit(() => once(post(text)));
        expect(got.key).toBe(key);
        expect(JSON.parse(got.text).choices[0].message.content).toBe(`echo: ${content}`);
        expect(await upstreamSaw(got.requestId)).toHaveLength(0);
      }
    }
  });

  it('keeps the same bytes apart by key, scope, model, custom key and config cache version, however often repeated', async () => {
    const content = fresh('apart');
    const text = JSON.stringify({ model: 'cached', temperature: 0, messages: [{ role: 'user', content }] });
    const keyOf = async (request: () => Request, envPatch: Record<string, unknown> = {}) => {
      const first = await once(request(), envPatch);
      const again = await once(request(), envPatch);
      expect(again.key).toBe(first.key);
      return first;
    };

    const teamA = await keyOf(() => post(text));
    expect(await upstreamSaw(teamA.requestId)).toHaveLength(1);
    // Another tenant: its own key and its own upstream call, never team A's entry.
    const tenant1 = await keyOf(() => post(text, 'sk-tenant-x1'));
    expect(tenant1).toMatchObject({ status: 'MISS' });
    expect(tenant1.key).not.toBe(teamA.key);
    expect(await upstreamSaw(tenant1.requestId)).toHaveLength(1);
    // A key sharing tenant-x1's scope shares its entries.
    const tenant2 = await untilHit(() => once(post(text, 'sk-tenant-x2')));
    expect(tenant2.key).toBe(tenant1.key);
    expect(await upstreamSaw(tenant2.requestId)).toHaveLength(0);

    // Another cached alias to the same upstream model: other bytes, another key.
    const otherModel = await keyOf(() => post(text.replace('"cached"', '"logged-cached"')));
    expect(otherModel.key).not.toBe(teamA.key);

    const customA = await keyOf(() => post(text, KEYS.teamA, { 'cf-aig-cache-key': 'custom-a' }));
    const customB = await keyOf(() => post(text, KEYS.teamA, { 'cf-aig-cache-key': 'custom-b' }));
    expect(new Set([teamA.key, customA.key, customB.key]).size).toBe(3);

    // The operator bumps cache.version: the same bytes get a new key (a new config is a new memo context).
    const config = structuredClone(testEnv.GATEWAY_CONFIG) as { cache?: Record<string, unknown> };
    config.cache = { ...config.cache, version: 7 };
    const bumped = await keyOf(() => post(text), { GATEWAY_CONFIG: config });
    expect(bumped.status).toBe('MISS');
    expect(bumped.key).not.toBe(teamA.key);
    expect(await upstreamSaw(bumped.requestId)).toHaveLength(1);
    expect((await once(post(text))).key).toBe(teamA.key);
  });

  it('keeps the same bytes apart under different output guardrails, in one cache scope', async () => {
    // shared-plain and shared-redact share a cache scope; only shared-redact redacts answers.
    const env = { ...testEnv, ...guardrailsBindings(inject('upstreamPort')) } as TestEnv;
    const guarded = (id: string) =>
      new OpenAI({
        apiKey: guardKey(id),
        baseURL: `${BASE}/v1`,
        maxRetries: 0,
        fetch: async (input, init) => {
          const ctx = createExecutionContext();
          const res = await gatewayWorker.fetch(new Request(input as RequestInfo, init as RequestInit), env, ctx);
          await waitOnExecutionContext(ctx);
          return res;
        },
      });
    const content = fresh('variants');
    const ask = async (id: string) => {
      const { data, response } = await guarded(id).chat.completions.create({ model: 'guarded-cached', temperature: 0, messages: [{ role: 'user', content }] }).withResponse();
      return { status: response.headers.get('x-gateway-cache'), key: response.headers.get('x-gateway-cache-key'), answer: data.choices[0]!.message.content };
    };
    const plain = [await ask('shared-plain'), await ask('shared-plain')];
    const redacting = [await ask('shared-redact'), await ask('shared-redact')];
    expect(plain.map((c) => c.status)).toEqual(['MISS', 'HIT']);
    expect(redacting.map((c) => c.status)).toEqual(['MISS', 'HIT']);
    expect(plain[1]!.key).toBe(plain[0]!.key);
    expect(redacting[1]!.key).toBe(redacting[0]!.key);
    expect(redacting[0]!.key).not.toBe(plain[0]!.key);
    expect(plain[1]!.answer).toBe(`echo: ${content}`);
  });

  it('holds request texts briefly and in bounded space: a minute at most, oldest out first, oversized never', () => {
    const context = JSON.stringify(['bound test']);
    const now = Date.now();
    const text = (i: number) => `${String(i).padStart(8, '0')}${'x'.repeat(KEY_MEMO_MAX_TEXT - 108)}`;
    // What one entry holds: its context, its text and its key; as many as fit in the bound.
    const fits = Math.floor(KEY_MEMO_MAX_BYTES / (context.length + text(0).length + 'key 00'.length));
    for (let i = 0; i < fits; i++) rememberKey(context, text(i), `key ${String(i).padStart(2, '0')}`, now);
    expect(recallKey(context, text(0), now)).toBe('key 00');
    rememberKey(context, text(fits), `key ${fits}`, now);
    expect(recallKey(context, text(0), now)).toBeUndefined(); // the oldest went
    expect(recallKey(context, text(1), now)).toBe('key 01');
    expect(recallKey(context, text(fits), now)).toBe(`key ${fits}`);
    for (let i = fits + 1; i < fits * 3; i++) rememberKey(context, text(i), `key ${i}`, now);
    expect(memoizedKeys()).toBeLessThanOrEqual(fits);
    expect(recallKey(context, text(fits * 3 - 1), now)).toBe(`key ${fits * 3 - 1}`);

    // A minute later nothing of it is held, whatever is looked up.
    expect(recallKey(context, 'anything', now + KEY_MEMO_TTL_MS)).toBeUndefined();
    expect(memoizedKeys()).toBe(0);
    expect(recallKey(context, text(fits * 3 - 1), now + KEY_MEMO_TTL_MS)).toBeUndefined();

    const oversized = 'y'.repeat(KEY_MEMO_MAX_TEXT + 1);
    rememberKey(context, oversized, 'never held', now + KEY_MEMO_TTL_MS);
    expect(recallKey(context, oversized, now + KEY_MEMO_TTL_MS)).toBeUndefined();
    expect(memoizedKeys()).toBe(0);
  });
});

describe('serving one entry many times', () => {
  it('answers JSON and streams from one entry identically however often, with usage only for clients that ask', async () => {
    const content = fresh('rendered once');
    const text = JSON.stringify({ model: 'cached', temperature: 0, messages: [{ role: 'user', content }] });
    const miss = await once(post(text));
    const hits = [await untilHit(() => once(post(text))), await once(post(text))];
    expect(hits.map((h) => h.status)).toEqual(['HIT', 'HIT']);
    expect(hits[1]!.text).toBe(hits[0]!.text);
    expect(JSON.parse(hits[0]!.text)).toEqual(JSON.parse(miss.text));

    const streamText = (options: object) => JSON.stringify({ model: 'cached', temperature: 0, messages: [{ role: 'user', content }], stream: true, ...options });
    const replay = async (options: object) => {
      const res = await inWorker({}, async (fetch) => {
        const r = await fetch(post(streamText(options)));
        return { cache: r.headers.get('x-gateway-cache'), type: r.headers.get('content-type'), events: await sseData(r) };
      });
      expect(res).toMatchObject({ cache: 'HIT', type: 'text/event-stream; charset=utf-8' });
      return res.events;
    };
    const quiet = await replay({});
    const counted = await replay({ stream_options: { include_usage: true } });
    const quietAgain = await replay({});
    expect(quietAgain).toEqual(quiet);
    expect(quiet.at(-1)).toBe('[DONE]');
    expect(counted.at(-1)).toBe('[DONE]');
    const chunks = (events: string[]) => events.slice(0, -1).map((e) => JSON.parse(e) as { choices: { delta: { content?: string } }[]; usage?: unknown });
    const textOf = (events: string[]) => chunks(events).map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(textOf(quiet)).toBe(`echo: ${content}`);
    expect(textOf(counted)).toBe(`echo: ${content}`);
    expect(chunks(quiet).some((c) => c.choices.length === 0)).toBe(false);
    const usageChunk = chunks(counted).at(-1)!;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toEqual(JSON.parse(miss.text).usage);
    expect(chunks(counted).length).toBe(chunks(quiet).length + 1);
  });
});
