import type { RoutingSettings } from '../config/routing-schema';
import { GatewayError, retryAfterHeaders, withHeaders } from '../errors';
import type { AttemptDecision, CallRecord } from '../logging/call-record';
import { providerFor } from '../providers/registry';
import { attempt, type AttemptInput, type Served } from './attempt';
import { recordLatency } from './balance';
import type { ChaosMode } from './chaos';
import { claimProbe, ensureFresh, report } from './health';
import { providerScope } from './health-types';
import { planCall } from './plan';
import { fullJitter, sleep } from './retry';
import { recordFirstAttempt, tryExtraAttempt } from './retry-budget';
import type { Route, Target } from '../core/target';

export type { Served } from './attempt';

/**
 * Walks a route until a target serves the call, under one deadline:
 * - the order, and which targets are skipped (open breaker, a provider's
 *   back-off) or called anyway as the last way out, is plan.ts's; a half-open
 *   target is tried only by the fleet's single probe;
 * - a target is retried on retryable failures (first-byte timeout, 408, 429, 5xx,
 *   529) after the upstream's requested wait or full-jitter backoff, unless that
 *   wait would pass the deadline or exceed `max_retry_after_ms`; a connection that
 *   got no answer at all moves to the next target at once, if there is one;
 * - the next target is tried once retries are spent, or at once for statuses in
 *   `failover_on`; other failures (a 400 the caller caused) end the walk;
 * - same-target retries draw on the isolate's retry budget; failing over to
 *   another target does not (it adds no load to the failing one, and the route's
 *   size bounds it). With the budget spent, the walk fails over, or fails fast
 *   with `x-should-retry: false` when no target is left.
 * If no target could even be called, the answer says why, by the earliest
 * recovery: 429 `upstream_rate_limited` when it is a provider's back-off, 503
 * `all_targets_unavailable` when it is a breaker; retry-after set to it.
 */

export interface DispatchInput extends AttemptInput {
  settings: RoutingSettings;
  ctx: { waitUntil(promise: Promise<unknown>): void };
  chaos?: ChaosMode | undefined;
}

type Refusal = { cause: 'breaker' | 'backoff'; until: number };

export async function dispatch(input: DispatchInput, route: Route): Promise<Served> {
  try {
    return await walk(input, route);
  } catch (error) {
    const providers429 = error instanceof GatewayError && error.code === 'upstream_rate_limited' && error.upstreamStatus !== undefined;
    throw providers429 ? asRateLimit(error, input.settings) : error;
  }
}

async function walk(input: DispatchInput, route: Route): Promise<Served> {
  const { settings, record } = input;
  const deadline = record.startedAt + settings.deadline_ms;
  await ensureFresh(input.env, settings, input.ctx);
  recordFirstAttempt();

  const plan = planCall(route, (target) => providerFor(target.config.kind).supports(input.endpoint), settings.panic_threshold);
  let lastError = plan.unsupported && unsupported(plan.unsupported, input);
  const refusals: Refusal[] = [];
  let called = false;
  let chaos = input.chaos;

  const lastCallable = plan.steps.findLastIndex((step) => step.action !== 'skip');
  for (const [index, step] of plan.steps.entries()) {
    const { target } = step;
    const { breaker } = target;
    if (step.action === 'skip') {
      refusals.push({ cause: step.cause, until: step.until });
      logSkip(record, target, step.cause);
      continue;
    }
    const probe = step.action === 'call' && step.probe;
    if (probe && !(await claimProbe(input.env, target.id, breaker))) {
      refusals.push({ cause: 'breaker', until: Date.now() + breaker.probe_lease_ms });
      logSkip(record, target, 'breaker');
      continue;
    }
    const decision: AttemptDecision | null = step.action === 'panic' ? 'panic' : probe ? 'probe' : null;
    const othersLeft = index < lastCallable;
    const provider = providerFor(target.config.kind);

    let waited = 0;
    for (let retry = 0; ; retry++) {
      if (Date.now() >= deadline) throw lastError ?? deadlinePassed();
      if (retry > 0 && !tryExtraAttempt(settings.retry_budget)) {
        if (othersLeft) break;
        throw budgetSpent(lastError);
      }
      called = true;
      record.provider = target.provider;
      record.upstreamModel = target.model;
      const started = Date.now();
      const mode = chaos;
      chaos = undefined;
      try {
        const served = await attempt(input, target, provider, deadline, mode);
        const latencyMs = Date.now() - started;
        record.attemptLog.push({ provider: target.provider, model: target.model, status: served.response.status, errorCode: null, latencyMs, waitMs: waited, decision });
        recordLatency(target.id, latencyMs);
        report(input.env, input.ctx, target.id, { ok: true }, breaker);
        return served;
      } catch (thrown) {
        const error = thrown instanceof GatewayError ? thrown : new GatewayError('internal_error', 'The gateway failed to call the provider');
        record.attemptLog.push({ provider: target.provider, model: target.model, status: error.upstreamStatus ?? null, errorCode: error.code, latencyMs: Date.now() - started, waitMs: waited, decision });
        if (error.code === 'client_closed' || error.code === 'internal_error') throw error;
        if (!error.synthetic && (error.retryable || error.failover)) {
          const outcome = outcomeOf(error, settings);
          report(input.env, input.ctx, target.id, outcome, breaker);
          if (outcome.retryAfterMs !== undefined && target.config.rate_limit_scope === 'provider') {
            report(input.env, input.ctx, providerScope(target.provider), { ok: false, retryAfterMs: outcome.retryAfterMs, backoffOnly: true }, breaker);
          }
        }
        lastError = error;
        const failsOverNow = error.upstreamStatus !== undefined && route.failoverOn.has(error.upstreamStatus);
        if (!error.retryable && !error.failover && !failsOverNow) throw error;
        if (failsOverNow || !error.retryable || retry >= route.retry.retries) break;
        // Nobody answered: another target is a better bet than this one again.
        if (error.unreachable && error.code === 'upstream_failed' && othersLeft) break;
        const wait = error.retryAfterMs ?? fullJitter(retry, route.retry);
        if (wait > settings.max_retry_after_ms || Date.now() + wait >= deadline) break;
        await sleep(wait, input.clientSignal);
        waited = wait;
      }
    }
  }
  if (!called && refusals.length > 0) throw refused(route, refusals);
  throw lastError ?? new GatewayError('upstream_failed', 'No target could serve this model');
}

function logSkip(record: CallRecord, target: Target, cause: Refusal['cause']): void {
  record.attemptLog.push({
    provider: target.provider, model: target.model, status: null, errorCode: null, latencyMs: 0, waitMs: 0,
    decision: cause === 'backoff' ? 'skipped_backoff' : 'skipped_breaker',
  });
}

/** What the fleet learns from a failure; a provider's wait is capped (docs/configuration.md, "Routing"). */
function outcomeOf(error: GatewayError, settings: RoutingSettings) {
  const wait = fleetWait(error, settings);
  return {
    ok: false as const,
    ...(wait !== undefined ? { retryAfterMs: wait } : {}),
    ...(error.unreachable ? { unreachable: true } : {}),
  };
}

function unsupported(target: Target, input: DispatchInput): GatewayError {
  return new GatewayError('unsupported_endpoint', `Provider "${target.provider}" does not serve ${input.endpoint}`, { param: 'model' });
}

function deadlinePassed(): GatewayError {
  return new GatewayError('upstream_timeout', 'The call reached its deadline before any provider answered');
}

function budgetSpent(last: GatewayError | undefined): GatewayError {
  const error = last ?? new GatewayError('upstream_failed', 'The provider failed');
  return withHeaders(error, { 'x-should-retry': 'false' }, `${error.message} (the gateway's retry budget is spent: not retrying)`);
}

/** No target called: the status follows the cause of the earliest recovery. */
function refused(route: Route, refusals: Refusal[]): GatewayError {
  const first = refusals.reduce((a, b) => (b.until < a.until ? b : a));
  const wait = first.until - Date.now();
  const inSeconds = Math.max(1, Math.ceil(wait / 1000));
  if (first.cause === 'backoff') {
    return new GatewayError('upstream_rate_limited', `The providers of "${route.model}" are rate limiting the gateway; retry in ${inSeconds} s`, {
      headers: { ...retryAfterHeaders(wait), 'x-should-retry': 'true' },
    });
  }
  return new GatewayError('all_targets_unavailable', `Every provider of "${route.model}" is unavailable; retry in ${inSeconds} s`, {
    headers: retryAfterHeaders(wait),
  });
}

/**
 * A provider's 429 that routing could not wait out reaches the caller as a 429 it
 * can act on: when to come back (the provider's wait, capped as the fleet caps
 * it), and that coming back is worth it.
 */
function asRateLimit(error: GatewayError, settings: RoutingSettings): GatewayError {
  // A spent retry budget already said not to retry: that stands.
  const headers: Record<string, string> = { 'x-should-retry': error.headers['x-should-retry'] ?? 'true' };
  const wait = fleetWait(error, settings);
  if (wait !== undefined) Object.assign(headers, retryAfterHeaders(wait));
  return withHeaders(error, headers);
}

/** The provider's requested wait as the fleet honours it: at most `max_backoff_ms`. */
function fleetWait(error: GatewayError, settings: RoutingSettings): number | undefined {
  return error.retryAfterMs === undefined ? undefined : Math.min(error.retryAfterMs, settings.max_backoff_ms);
}
