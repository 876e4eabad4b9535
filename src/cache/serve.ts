import type { CallRecord } from '../logging/call-record';
import { readUsage } from '../core/usage';
import { answerChunks } from '../streaming/answer-stream';
import type { StreamFramer } from '../streaming/framer';
import { recordUsage } from '../streaming/usage';
import type { CacheEntry } from './entry';
import { ExpiringMap } from './expiring-map';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';

/** Builds an entry from a complete answer. */
export function newEntry(endpoint: Operation, body: JsonObject, provider: string, upstreamModel: string, ttlMs: number): CacheEntry {
  const now = Date.now();
  return { format: 1, endpoint, createdAt: now, expiresAt: now + ttlMs, provider, upstreamModel, body };
}

/** Status headers: ours, and Cloudflare AI Gateway's name for apps moving over. */
export function cacheHeaders(status: string): Record<string, string> {
  return { 'x-gateway-cache': status, 'cf-aig-cache-status': status };
}

/**
 * A call answered from an entry is logged with the tokens it served (the limiter
 * and the bill count none: see settlement) and the target that first answered it.
 */
export function recordHit(entry: CacheEntry, record: CallRecord): void {
  record.cacheStatus = 'HIT';
  record.provider = entry.provider;
  record.upstreamModel = entry.upstreamModel;
  record.firstByteAt = Date.now();
  const usage = readUsage(entry.body.usage);
  if (usage) recordUsage(record, usage);
}

export function hitHeaders(entry: CacheEntry): Record<string, string> {
  return {
    ...cacheHeaders('HIT'),
    age: String(Math.max(0, Math.floor((Date.now() - entry.createdAt) / 1000))),
    'x-gateway-provider': entry.provider,
    'x-gateway-model': entry.upstreamModel,
    'x-gateway-attempts': '0',
  };
}

/**
 * What serving an entry costs is paid once per entry in this isolate, not per hit:
 * its answer as JSON text and its stream replay as chunk texts are kept beside it,
 * as long as memory-tier.ts keeps an entry at most, and in bounded space (a replay
 * repeats each chunk's envelope, so it is many times the entry's size: without a
 * bound of its own, memory-tier.ts's would not hold).
 */
const RENDERED_TTL_MS = 60_000;
const RENDERED_MAX_BYTES = 4 * 1024 * 1024;

interface ReplayChunk {
  data: string;
  usageOnly: boolean;
}
const answers = new ExpiringMap<CacheEntry, string>(RENDERED_TTL_MS, RENDERED_MAX_BYTES);
const replays = new ExpiringMap<CacheEntry, ReplayChunk[]>(RENDERED_TTL_MS, RENDERED_MAX_BYTES);

/** The entry's answer as JSON text, exactly JSON.stringify(entry.body). */
export function answerText(entry: CacheEntry): string {
  const now = Date.now();
  let text = answers.get(entry, now);
  if (text === undefined) {
    text = JSON.stringify(entry.body);
    answers.set(entry, text, text.length, now);
  }
  return text;
}

/**
 * The entry replayed as a stream in the client's format, whole: it is all at hand,
 * so it goes out as one body, with no timer or read between events, and its first
 * byte leaves with the headers. Framed per call (a framer keeps its own state, and
 * sends the usage chunk only to a client that asked for it).
 */
export function replayText(entry: CacheEntry, framer: StreamFramer): string {
  const now = Date.now();
  let chunks = replays.get(entry, now);
  if (!chunks) {
    chunks = answerChunks(entry.endpoint, entry.body, true).map((chunk) => ({
      data: JSON.stringify(chunk),
      usageOnly: Array.isArray(chunk.choices) && chunk.choices.length === 0,
    }));
    replays.set(entry, chunks, chunks.reduce((sum, c) => sum + c.data.length, 0), now);
  }
  let text = '';
  for (const { data, usageOnly } of chunks) text += framer.chunk(data, usageOnly);
  return text + framer.done();
}
