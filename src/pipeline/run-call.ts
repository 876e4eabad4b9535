import type { Caller } from '../auth/key-ring';
import { openCache, type CacheLookup } from '../cache/response-cache';
import type { GatewayConfig } from '../config/schema';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
import type { Env } from '../env';
import { guardPlan, type OutputPlan } from '../guardrails/plan';
import { guardRequest } from '../guardrails/request';
import { admit, type Admission } from '../limits/admission';
import type { CallRecord } from '../logging/call-record';
import { capturePayload } from '../logging/payload-capture';
import { chaosFrom } from '../routing/chaos';
import { dispatch, type Served } from '../routing/dispatch';
import { authorize, resolveModel } from '../routing/resolve';

/**
 * One model call, whatever wire format it arrived in: resolve and authorize the
 * model, run its input guardrails (the before-hooks: src/guardrails/), admit it
 * against the key's limits, answer from the cache when it can, otherwise dispatch
 * it to the route's targets. Output guardrails (the after-hooks) run where the
 * answer is turned into a response (ingress/respond.ts, streaming/relay.ts). What comes back is either a cached
 * entry or the serving upstream's answer; turning either into a response is the
 * ingress format's job (src/ingress/). Pricing, logging and settling are the
 * last stage, end-call.ts, run once the response has ended (the call log
 * middleware runs it, so calls refused before this stage end there too).
 */

export interface CallInput {
  env: Env;
  ctx: { waitUntil(promise: Promise<unknown>): void };
  config: GatewayConfig;
  caller: Caller;
  record: CallRecord;
  operation: Operation;
  /** The caller's body, validated by its ingress format; forwarded as received. */
  body: JsonObject;
  model: string;
  stream: boolean;
  requestHeaders: Headers;
  clientSignal: AbortSignal;
  /** Told as soon as the call holds a reservation, so it is settled however the call ends. */
  onAdmitted(admission: Admission): void;
}

/** `sent`: the body as the call used it, after the input guardrails (redactions included). */
export type CallResult =
  | { from: 'cache'; cache: CacheLookup; headers: Record<string, string>; sent: JsonObject }
  | { from: 'upstream'; served: Served; cache: CacheLookup; headers: Record<string, string>; output?: OutputPlan | undefined; sent: JsonObject };

export async function runCall(input: CallInput): Promise<CallResult> {
  const { config, record, operation } = input;
  record.model = input.model;
  record.stream = input.stream;
  const route = resolveModel(config, input.model);
  authorize(input.caller.policy, route);
  const guards = guardPlan(config, input.caller.keyId, route.model);
  // From here on `body` is what goes upstream: redactions included, and the cache keys on it.
  const body = guards?.input
    ? await guardRequest(guards.input, { operation, body: input.body, record, config, env: input.env, ctx: input.ctx, clientSignal: input.clientSignal })
    : input.body;
  // Payload logs store what went upstream: redacted, and nothing of a refused call.
  record.payload = capturePayload(config, input.caller.policy, input.model, body);
  // The limiter's round trip and the cache's KV read do not depend on each other: both
  // at once. The cache waits for the admission before it joins or leads a flight, so a
  // refused call is refused at once and never leaves a flight behind.
  const admitting = admit({ env: input.env, config, keyId: input.caller.keyId, route, endpoint: operation, body, record, ctx: input.ctx });
  const opening = openCache({
    config, route, operation, body, requestHeaders: input.requestHeaders, keyId: input.caller.keyId, kv: input.env.CACHE, ctx: input.ctx, admitted: admitting,
    variant: guards?.cacheVariant,
  });
  opening.catch(() => {}); // its failure is reported below, or the admission's first
  const admission = await admitting;
  if (admission) input.onAdmitted(admission);
  const cache = await opening;
  const headers: Record<string, string> = { ...admission?.headers, ...cache.headers };
  if (cache.hit) return { from: 'cache', cache, headers, sent: body };
  record.cacheStatus = cache.status;

  try {
    const served = await dispatch(
      {
        endpoint: operation, body, stream: input.stream, requestId: record.requestId, env: input.env, clientSignal: input.clientSignal,
        record, settings: config.routing, ctx: input.ctx, chaos: chaosFrom(input.requestHeaders, input.caller),
      },
      route,
    );
    return { from: 'upstream', served, cache, headers, output: guards?.output, sent: body };
  } catch (error) {
    cache.offer(undefined);
    throw error;
  }
}
