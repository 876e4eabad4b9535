import { StreamAssembler } from '../cache/assemble';
import { answerText, hitHeaders, recordHit, replayText } from '../cache/serve';
import type { GatewayConfig } from '../config/schema';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
import type { StreamTap } from '../core/stream-tap';
import { guardAnswer } from '../guardrails/answer';
import { streamGuard } from '../guardrails/stream';
import { estimateTokens } from '../limits/estimate';
import { upstreamCalls, type CallRecord } from '../logging/call-record';
import type { CallResult } from '../pipeline/run-call';
import { relay } from '../streaming/relay';
import { readUsage } from '../core/usage';
import { countAnswer, recordUsage } from '../streaming/usage';
import type { IngressFormat } from './format';

/**
 * A call's result as a response in the client's format: a cached entry (JSON, or
 * replayed as a stream) or the serving upstream's answer (JSON, or its stream
 * relayed as it arrives). The format only re-shapes; what is recorded, cached and
 * when the call ends is decided here, once for every format.
 */

export interface Respond {
  format: IngressFormat;
  result: CallResult;
  record: CallRecord;
  operation: Operation;
  /** The call's body in the internal (OpenAI) shape. */
  body: JsonObject;
  config: GatewayConfig;
  stream: boolean;
  clientSignal: AbortSignal;
  /** Hands the end of the call to the response's body (a stream ends later than the handler). */
  endLater: () => () => void;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const JSON_HEADERS = { 'content-type': 'application/json' };

export function respond({ format, result, record, operation, body, config, stream, clientSignal, endLater }: Respond): Response {
  if (result.from === 'cache') {
    const entry = result.cache.hit!;
    recordHit(entry, record);
    record.payload?.answered(entry.body);
    const headers = { ...result.headers, ...hitHeaders(entry) };
    if (!stream) return new Response(format.answer(entry.body, answerText(entry)), { headers: { ...headers, ...JSON_HEADERS } });
    return new Response(replayText(entry, format.framer()), { headers: { ...headers, ...SSE_HEADERS } });
  }
  const { served, cache } = result;
  const headers = {
    ...result.headers,
    'x-gateway-provider': served.target.provider,
    'x-gateway-model': served.target.model,
    'x-gateway-attempts': String(upstreamCalls(record)),
    'x-gateway-overhead-ms': String(overheadMs(record)),
  };
  // The limiter's own estimate, for an answer the provider reports no usage for.
  const estimatePrompt = () => estimateTokens(operation, body, config.limits).prompt;
  if (!stream) {
    const usage = readUsage(served.json?.usage);
    if (usage) recordUsage(record, usage);
    else countAnswer(record, operation, served.json, estimatePrompt);
    let [json, text] = [served.json!, served.text];
    if (result.output) {
      // The after-hook: before the cache stores the answer and before the client reads it.
      try {
        json = guardAnswer(result.output, operation, json, record);
      } catch (error) {
        cache.offer(undefined);
        throw error;
      }
      if (json !== served.json) text = undefined;
    }
    cache.offer(json, served.target);
    record.payload?.answered(json);
    return new Response(format.answer(json, text), { headers: { ...headers, ...JSON_HEADERS } });
  }
  const tap = withPayload(record, operation, cache.tap(served.target));
  const framer = format.framer();
  const guard = result.output && streamGuard(result.output, operation, record);
  return new Response(relay({ served, record, framer, clientSignal, estimatePrompt, tap, guard, onEnd: endLater() }), { headers: { ...headers, ...SSE_HEADERS } });
}

/** The gateway's own time so far: everything but upstream attempts and the waits between them. */
function overheadMs(record: CallRecord): number {
  const upstream = record.attemptLog.reduce((sum, a) => sum + a.latencyMs + a.waitMs, 0);
  return Math.max(0, Date.now() - record.startedAt - upstream);
}

/** The cache's stream tap, joined by one that assembles the answer when the call logs its payload. */
function withPayload(record: CallRecord, operation: Operation, cacheTap: StreamTap | undefined): StreamTap | undefined {
  const capture = record.payload;
  if (!capture) return cacheTap;
  const assembler = new StreamAssembler(operation);
  return {
    chunk(data) {
      cacheTap?.chunk(data);
      assembler.push(data);
    },
    end(complete) {
      cacheTap?.end(complete);
      capture.answered(complete ? assembler.result() : undefined);
    },
  };
}
