import type { RoutingSettings } from '../config/routing-schema';
import { GatewayError, withHeaders } from '../errors';
import { providerFor } from '../providers/registry';
import { attempt, type AttemptInput, type Served } from './attempt';
import { orderTier, recordLatency } from './balance';
import type { ChaosMode } from './chaos';
import { availability, claimProbe, ensureFresh, report } from './health';
import { fullJitter, sleep } from './retry';
import { recordFirstAttempt, tryExtraAttempt } from './retry-budget';
import type { Route } from './resolve';

export type { Served } from './attempt';

/**
 * Walks a route until a target serves the call, under one deadline:
 * - tiers in order; within a tier, targets ordered by the route's strategy;
 * - targets the fleet knows to be down (open breaker, provider's retry-after) are
 *   skipped; a half-open one is tried only by the fleet's single probe;
 * - a target is retried on retryable failures (network, first-byte timeout, 408,
 *   429, 5xx, 529) after the upstream's requested wait or full-jitter backoff,
 *   unless that wait would pass the deadline or exceed `max_retry_after_ms`;
 * - the next target is tried once retries are spent, or at once for statuses in
 *   `failover_on`; other failures (a 400 the caller caused) end the walk;
 * - every extra attempt draws on the isolate's retry budget; when it is spent the
 *   call fails fast with `x-should-retry: false`.
 * If no target could even be tried, the answer is a fast 503 with retry-after set
 * to the earliest recovery.
 */

export interface DispatchInput extends AttemptInput {
  settings: RoutingSettings;
  ctx: { waitUntil(promise: Promise<unknown>): void };
  chaos?: ChaosMode | undefined;
}

export async function dispatch(input: DispatchInput, route: Route): Promise<Served> {
  const { settings, record } = input;
  const deadline = record.startedAt + settings.deadline_ms;
  await ensureFresh(input.env, settings, input.ctx);
  recordFirstAttempt();

  let lastError: GatewayError | undefined;
  let earliestRecovery = Infinity;
  let tried = false;
  let chaos = input.chaos;

  for (const tier of route.tiers) {
    for (const target of orderTier(tier, route.strategy)) {
      const provider = providerFor(target.config.kind);
      if (!provider.supports(input.endpoint)) {
        lastError = new GatewayError('unsupported_endpoint', `Provider "${target.provider}" does not serve ${input.endpoint}`, { param: 'model' });
        continue;
      }
      const health = availability(target.id);
      if (!health.ok) {
        earliestRecovery = Math.min(earliestRecovery, health.until);
        continue;
      }
      const breaker = { ...settings.breaker, ...target.config.breaker };
      if (health.probe && !(await claimProbe(input.env, target.id, breaker))) {
        earliestRecovery = Math.min(earliestRecovery, Date.now() + breaker.probe_lease_ms);
        continue;
      }

      let waited = 0;
      for (let retry = 0; ; retry++) {
        if (Date.now() >= deadline) throw lastError ?? deadlinePassed();
        if (tried && !tryExtraAttempt(settings.retry_budget)) throw budgetSpent(lastError);
        tried = true;
        record.provider = target.provider;
        record.upstreamModel = target.model;
        const started = Date.now();
        const mode = chaos;
        chaos = undefined;
        try {
          const served = await attempt(input, target, provider, deadline, mode);
          const latencyMs = Date.now() - started;
          record.attemptLog.push({ provider: target.provider, model: target.model, status: served.response.status, errorCode: null, latencyMs, waitMs: waited });
          recordLatency(target.id, latencyMs);
          report(input.env, input.ctx, target.id, { ok: true }, breaker);
          return served;
        } catch (thrown) {
          const error = thrown instanceof GatewayError ? thrown : new GatewayError('internal_error', 'The gateway failed to call the provider');
          record.attemptLog.push({ provider: target.provider, model: target.model, status: error.upstreamStatus ?? null, errorCode: error.code, latencyMs: Date.now() - started, waitMs: waited });
          if (error.code === 'client_closed' || error.code === 'internal_error') throw error;
          if (!error.synthetic && (error.retryable || error.failover)) {
            const outcome = error.retryAfterMs !== undefined ? { ok: false as const, retryAfterMs: error.retryAfterMs } : { ok: false as const };
            report(input.env, input.ctx, target.id, outcome, breaker);
          }
          lastError = error;
          const failsOverNow = error.upstreamStatus !== undefined && route.failoverOn.has(error.upstreamStatus);
          if (!error.retryable && !error.failover && !failsOverNow) throw error;
          if (failsOverNow || !error.retryable || retry >= route.retry.retries) break;
          const wait = error.retryAfterMs ?? fullJitter(retry, route.retry);
          if (wait > settings.max_retry_after_ms || Date.now() + wait >= deadline) break;
          await sleep(wait, input.clientSignal);
          waited = wait;
        }
      }
    }
  }
  if (!tried && earliestRecovery !== Infinity) throw allUnavailable(route, earliestRecovery);
  throw lastError ?? new GatewayError('upstream_failed', 'No target could serve this model');
}

function deadlinePassed(): GatewayError {
  return new GatewayError('upstream_timeout', 'The call reached its deadline before any provider answered');
}

function budgetSpent(last: GatewayError | undefined): GatewayError {
  const error = last ?? new GatewayError('upstream_failed', 'The provider failed');
  return withHeaders(error, { 'x-should-retry': 'false' }, `${error.message} (the gateway's retry budget is spent: not retrying)`);
}

function allUnavailable(route: Route, until: number): GatewayError {
  const wait = Math.max(1, until - Date.now());
  return new GatewayError('all_targets_unavailable', `Every provider of "${route.model}" is unavailable; retry in ${Math.ceil(wait / 1000)} s`, {
    headers: { 'retry-after': String(Math.ceil(wait / 1000)), 'retry-after-ms': String(wait) },
  });
}
