import type { GatewayConfig } from '../config/schema';
import type { Env } from '../env';
import { GatewayError, retryAfterHeaders } from '../errors';
import type { CallRecord } from '../logging/call-record';
import { estimateTokens } from './estimate';
import { goDuration, rateLimitHeaders } from './headers';
import { reserveCost, routePrices } from './pricing';
import { rulesFor } from './rules';
import { admitAt, type Admitted } from './object-admission';
import type { AdmitResult, Rule, RuleState } from './types';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
import type { Route } from '../core/target';

/**
 * Admission on the hot path: the key's limiter object and the objects of the
 * fleet-wide entries covering the route (rules.ts), each admitting from this
 * isolate's quota lease when it can (no round trip), else by one RPC, all in
 * parallel: at most one round trip (object-admission.ts). Rules and prices are
 * precompiled per config and route, so a call does map lookups and one pass over its
 * body (estimate.ts). The reservation is settled to real usage once the call has
 * ended: queued, and sent in a batch or with the next admission (settle-queue.ts),
 * never on a call's own path.
 */

export interface AdmissionInput {
  env: Env;
  config: GatewayConfig;
  keyId: string;
  route: Route;
  endpoint: Operation;
  body: JsonObject;
  record: CallRecord;
  ctx: { waitUntil(promise: Promise<unknown>): void };
}

export interface Admission {
  headers: Record<string, string>;
  /** The reservation's prompt tokens: what a call that reached the provider and got nothing back is charged. */
  promptEstimate: number;
  /** Queues the settlement of the reservation to what the call really used (logged tokens and cost). */
  settle(): void;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`limiter did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

function refusal(result: Extract<AdmitResult, { ok: false }>, headers: Record<string, string>): GatewayError {
  const wait = Math.max(1, Math.ceil(result.retry_after_ms));
  const retry = retryAfterHeaders(wait);
  if (result.kind === 'spend_day' || result.kind === 'spend_month') {
    const period = result.kind === 'spend_day' ? 'daily' : 'monthly';
    // x-should-retry: false stops the OpenAI and Anthropic clients from retrying.
    return new GatewayError('insufficient_quota', `This key has used its ${period} budget; it renews in ${goDuration(wait)}`, {
      headers: { ...headers, ...retry, 'x-should-retry': 'false' },
    });
  }
  const what = result.kind === 'tokens' ? 'tokens' : result.kind === 'concurrency' ? 'concurrent requests' : 'requests';
  return new GatewayError('rate_limit_exceeded', `Rate limit reached for ${what} (${result.rule}). Please try again in ${goDuration(wait)}.`, {
    type: result.kind === 'tokens' ? 'tokens' : result.kind === 'concurrency' ? 'concurrency' : 'requests',
    headers: { ...headers, ...retry },
  });
}

/**
 * A budget is only as good as the price of what it pays for: a key with one may not
 * call a route with an unpriced target (it would be served free), unless the config
 * sets `limits.default_price`. Checked before the limiter, so it costs no round trip.
 */
function refuseUnpriced(config: GatewayConfig, route: Route, record: CallRecord): void {
  const unpriced = routePrices(config, route).unpriced;
  if (unpriced.length === 0) return;
  record.limitStatus = 'rejected';
  record.limitedBy = 'unpriced';
  throw new GatewayError(
    'model_not_priced',
    `This key has a budget, and the model "${route.model}" has no price on this gateway (${unpriced.join(', ')}), so its cost cannot be counted`,
    { param: 'model' },
  );
}

export async function admit(input: AdmissionInput): Promise<Admission | undefined> {
  const { env, config, keyId, route, endpoint, body, record, ctx } = input;
  const rules = rulesFor(config, keyId, route);
  if (rules.key.length === 0 && rules.fleet.length === 0) return undefined;
  if (rules.budget) refuseUnpriced(config, route, record);

  const estimate = estimateTokens(endpoint, body, config.limits);
  const cost = reserveCost(config, route, estimate);
  const objects: [string, Rule[]][] = [];
  if (rules.key.length > 0) objects.push([`key:${keyId}`, rules.key]);
  for (const fleet of rules.fleet) objects.push([fleet.object, fleet.rules]);
  const amounts = { id: record.requestId, tokens: estimate.prompt + estimate.completion, cost, lease_ms: config.limits.lease_s * 1000 };
  let admitted: Admitted[];
  try {
    const pending = objects.map(([object, ruleList]) => admitAt(env.LIMITER, object, ruleList, amounts, ctx));
    // Admitted from leases only: no promise, no timer.
    admitted = pending.some((p) => p instanceof Promise)
      ? await withTimeout(Promise.all(pending), config.limits.timeout_ms)
      : (pending as Admitted[]);
  } catch (error) {
    console.error(`limiter unavailable for key ${keyId}: ${error instanceof Error ? error.message : String(error)}`);
    if (config.limits.on_unavailable === 'open') {
      record.limitStatus = 'unavailable_open';
      return undefined;
    }
    record.limitStatus = 'unavailable_closed';
    throw new GatewayError('limiter_unavailable', 'The rate limiter is unavailable; please retry shortly', {
      headers: retryAfterHeaders(1000),
    });
  }

  const results = admitted.map((a) => a.result);
  const states: RuleState[] = results.flatMap((r) => r.states);
  const headers = rateLimitHeaders(states);
  // Queued, never awaited: settlements go out in batches or with the next admission (settle-queue.ts).
  const settle = (tokens: number, cost: number) => {
    for (const a of admitted) a.settle({ tokens, cost });
  };

  const refused = results.find((r): r is Extract<AdmitResult, { ok: false }> => !r.ok);
  if (refused) {
    // Free what the other object reserved; its request count stays (the call was made).
    settle(0, 0);
    record.limitStatus = 'rejected';
    record.limitedBy = refused.rule;
    throw refusal(refused, headers);
  }
  record.limitStatus = 'admitted';
  return {
    headers,
    promptEstimate: estimate.prompt,
    // A cache hit counts as a request but spends no upstream tokens or money.
    settle: () =>
      settle(record.cacheStatus === 'HIT' ? 0 : (record.promptTokens ?? 0) + (record.completionTokens ?? 0), record.costUsd ?? 0),
  };
}
