import type { CallRecord } from '../logging/call-record';
import { readUsage } from '../core/usage';
import { recordUsage } from '../streaming/usage';
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
