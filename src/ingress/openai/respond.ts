import { answerFromCache } from '../../cache/serve';
import type { JsonObject } from '../../core/json';
import type { Operation } from '../../core/operation';
import type { GatewayConfig } from '../../config/schema';
import { estimateTokens } from '../../limits/estimate';
import { upstreamCalls, type CallRecord } from '../../logging/call-record';
import type { CallResult } from '../../pipeline/run-call';
import { relay } from '../../streaming/relay';
import { streamError } from './errors';
import { readUsage, recordUsage } from '../../streaming/usage';

/**
 * A call's result in OpenAI's wire format: the cached or upstream JSON as is (the
 * upstream's own bytes when nothing was rewritten), or an SSE stream relayed as it
 * arrives (a cached answer replayed as one).
 */

export interface Respond {
  result: CallResult;
  record: CallRecord;
  operation: Operation;
  body: JsonObject;
  config: GatewayConfig;
  stream: boolean;
  clientWantsUsage: boolean;
  clientSignal: AbortSignal;
  /** Hands the end of the call to the response's body (a stream ends later than the handler). */
  endLater: () => () => void;
}

export function respondOpenAI({ result, record, operation, body, config, stream, clientWantsUsage, clientSignal, endLater }: Respond): Response {
  const headers = result.headers;
  if (result.from === 'cache') return answerFromCache(result.cache.hit!, record, stream, clientWantsUsage, headers);
  const { served, cache } = result;
  Object.assign(headers, {
    'x-gateway-provider': served.target.provider,
    'x-gateway-model': served.target.model,
    'x-gateway-attempts': String(upstreamCalls(record)),
    'x-gateway-overhead-ms': String(overheadMs(record)),
  });
  if (!stream) {
    const usage = readUsage(served.json?.usage);
    if (usage) recordUsage(record, usage);
    cache.offer(served.json, served.target);
    const text = served.text ?? JSON.stringify(served.json);
    return new Response(text, { headers: { ...headers, 'content-type': 'application/json' } });
  }
  // Counted only for a stream the provider reports no usage for; the limiter's own estimate.
  const estimatePrompt = () => estimateTokens(operation, body, config.limits).prompt;
  const tap = cache.tap(served.target);
  return new Response(relay({ served, record, clientWantsUsage, clientSignal, estimatePrompt, tap, onEnd: endLater(), frameError: streamError }), {
    headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
  });
}

/** The gateway's own time so far: everything but upstream attempts and the waits between them. */
function overheadMs(record: CallRecord): number {
  const upstream = record.attemptLog.reduce((sum, a) => sum + a.latencyMs + a.waitMs, 0);
  return Math.max(0, Date.now() - record.startedAt - upstream);
}
