import type { CachePolicy } from '../config/cache-schema';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';

/**
 * What a KV cache entry holds: the complete answer in the shape of OpenAI's
 * non-stream response, whichever way it arrived, plus where it came from. A
 * streamed request is replayed from it as SSE; a non-stream one gets it as is.
 */
export interface CacheEntry {
  format: 1;
  endpoint: Operation;
  createdAt: number;
  expiresAt: number;
  provider: string;
  upstreamModel: string;
  body: JsonObject;
}

const COMPLETE = new Set(['stop', 'tool_calls', 'function_call']);
const TRUNCATED = new Set(['length', 'content_filter']);

/** Only complete successes are stored: every choice finished, and properly unless the route allows otherwise. */
export function isStorable(endpoint: Operation, body: JsonObject, policy: CachePolicy): boolean {
  if (endpoint === 'embeddings') return Array.isArray(body.data) && body.data.length > 0;
  const choices = body.choices;
  if (!Array.isArray(choices) || choices.length === 0) return false;
  return choices.every((choice: { finish_reason?: unknown }) => {
    const reason = choice?.finish_reason;
    return typeof reason === 'string' && (COMPLETE.has(reason) || (policy.cache_truncated && TRUNCATED.has(reason)));
  });
}
