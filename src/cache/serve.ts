import type { CallRecord } from '../logging/call-record';
import { answerStream } from '../streaming/answer-stream';
import { readUsage, recordUsage } from '../streaming/usage';
import type { CacheEntry } from './entry';
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
 * Answers from an entry, as JSON or as a replayed stream. The call is logged with
 * the tokens it served (the limiter and the bill count none: see settlement).
 */
export function answerFromCache(
  entry: CacheEntry,
  record: CallRecord,
  stream: boolean,
  clientWantsUsage: boolean,
  headers: Record<string, string>,
): Response {
  record.cacheStatus = 'HIT';
  record.provider = entry.provider;
  record.upstreamModel = entry.upstreamModel;
  record.firstByteAt = Date.now();
  const usage = readUsage(entry.body.usage);
  if (usage) recordUsage(record, usage);
  const all = {
    ...headers,
    ...cacheHeaders('HIT'),
    age: String(Math.max(0, Math.floor((Date.now() - entry.createdAt) / 1000))),
    'x-gateway-provider': entry.provider,
    'x-gateway-model': entry.upstreamModel,
    'x-gateway-attempts': '0',
  };
  if (!stream) return Response.json(entry.body, { headers: all });
  return new Response(answerStream(entry.endpoint, entry.body, clientWantsUsage), {
    headers: { ...all, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
  });
}
