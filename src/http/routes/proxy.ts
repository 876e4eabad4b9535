import type { Context } from 'hono';
import type { z } from 'zod';
import { openCache } from '../../cache/response-cache';
import { answerFromCache } from '../../cache/serve';
import { admit } from '../../limits/admission';
import { estimateTokens } from '../../limits/estimate';
import { upstreamCalls, type CallRecord } from '../../logging/call-record';
import { chaosFrom } from '../../routing/chaos';
import { dispatch, type Served } from '../../routing/dispatch';
import { authorize, resolveModel } from '../../routing/resolve';
import { relay } from '../../streaming/relay';
import { readUsage, recordUsage } from '../../streaming/usage';
import { readJsonObject, validate } from '../body';
import type { AppEnv } from '../context';
import type { Operation } from '../../core/operation';

type ApiSchema = z.ZodType<{ model: string; stream?: boolean | null; stream_options?: { include_usage?: boolean } | null }>;

/**
 * One handler for every model endpoint: read and validate the body, resolve and
 * authorize the model, admit it against the key's limits, answer from the cache
 * when it can, otherwise dispatch to the route's targets and answer in OpenAI's
 * shape (JSON, or SSE relayed as it arrives), storing complete answers.
 */
export function proxy(endpoint: Operation, schema: ApiSchema) {
  return async function handle(c: Context<AppEnv>): Promise<Response> {
    const config = c.get('config');
    const call = c.get('call');
    const body = await readJsonObject(c.req.raw, config.max_body_bytes);
    const request = validate(schema, body);
    const stream = endpoint !== 'embeddings' && request.stream === true;
    const clientWantsUsage = request.stream_options?.include_usage === true;
    call.model = request.model;
    call.stream = stream;

    const route = resolveModel(config, request.model);
    const caller = c.get('caller');
    authorize(caller.policy, route);
    const admission = await admit({ env: c.env, config, keyId: caller.keyId, route, endpoint, body, call });
    if (admission) c.set('admission', admission);

    const cache = await openCache({
      config, route, operation: endpoint, body, requestHeaders: c.req.raw.headers, keyId: caller.keyId, kv: c.env.CACHE, ctx: c.executionCtx,
    });
    const headers: Record<string, string> = { ...admission?.headers, ...cache.headers };
    if (cache.hit) return answerFromCache(cache.hit, call, stream, clientWantsUsage, headers);
    call.cacheStatus = cache.status;

    let served: Served;
    try {
      served = await dispatch(
        {
          endpoint, body, stream, requestId: call.requestId, env: c.env, clientSignal: c.req.raw.signal, record: call,
          settings: config.routing, ctx: c.executionCtx, chaos: chaosFrom(c.req.raw.headers, caller),
        },
        route,
      );
    } catch (error) {
      cache.offer(undefined);
      throw error;
    }
    Object.assign(headers, {
      'x-gateway-provider': served.target.provider,
      'x-gateway-model': served.target.model,
      'x-gateway-attempts': String(upstreamCalls(call)),
      'x-gateway-overhead-ms': String(overheadMs(call)),
    });
    if (!stream) {
      const usage = readUsage(served.json?.usage);
      if (usage) recordUsage(call, usage);
      cache.offer(served.json, served.target);
      if (served.text !== undefined) {
        return new Response(served.text, { headers: { ...headers, 'content-type': 'application/json' } });
      }
      return c.json(served.json, 200, headers);
    }
    const tap = cache.tap(served.target);
    // Counted only for a stream the provider reports no usage for; the limiter's own estimate.
    const estimatePrompt = () => estimateTokens(endpoint, body, config.limits).prompt;
    return new Response(relay({ served, record: call, clientWantsUsage, clientSignal: c.req.raw.signal, estimatePrompt, tap }), {
      headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
    });
  };
}

/** The gateway's own time so far: everything but upstream attempts and the waits between them. */
function overheadMs(call: CallRecord): number {
  const upstream = call.attemptLog.reduce((sum, a) => sum + a.latencyMs + a.waitMs, 0);
  return Math.max(0, Date.now() - call.startedAt - upstream);
}
