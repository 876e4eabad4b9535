import type { RoutingSettings } from '../config/routing-schema';
import type { Env } from '../env';
import { providerScope, type BreakerSettings, type Outcome, type TargetHealth } from './health-types';
import type { Target } from '../core/target';

/**
 * This isolate's view of the fleet's target health. The truth lives in the Health
 * Durable Object ("fleet"); here is a copy at most `health_cache_ms` old, so healthy
 * traffic never waits on a round trip: a stale copy is refreshed in the background,
 * and only an isolate's very first call fetches it first. Failures are applied to
 * the copy at once and reported in the background; successes are reported only
 * when they change something (a target with failures on record). A probe of a
 * half-open target is claimed from the object, so the fleet sends exactly one.
 * If the object cannot be reached, every target counts as healthy (fail open).
 */

type Settings = RoutingSettings;
type Waiter = { waitUntil(promise: Promise<unknown>): void };

const FLEET = 'fleet';
let known = new Map<string, TargetHealth>();
let fetchedAt = -Infinity;
let refreshing = false;

function stub(env: Env) {
  return env.HEALTH.get(env.HEALTH.idFromName(FLEET));
}

async function refresh(env: Env): Promise<void> {
  refreshing = true;
  try {
    const snapshot = await stub(env).snapshot();
    known = new Map(snapshot.map((health) => [health.target, health]));
    fetchedAt = Date.now();
  } catch (error) {
    console.error(`target health unavailable (all targets count as healthy): ${String(error)}`);
    fetchedAt = Date.now();
  } finally {
    refreshing = false;
  }
}

/** The fleet's failing or blocked targets, read from the object itself (the admin dashboard). */
export function fleetHealth(env: Env): Promise<TargetHealth[]> {
  return stub(env).snapshot();
}

/** Makes sure the copy exists; refreshes a stale one without making the call wait. */
export async function ensureFresh(env: Env, settings: Settings, ctx: Waiter): Promise<void> {
  if (fetchedAt === -Infinity) return refresh(env);
  if (!refreshing && Date.now() - fetchedAt > settings.health_cache_ms) ctx.waitUntil(refresh(env));
}

/**
 * Whether a target may be called now. When not: until when, and why. `backoff`
 * (a provider asked us to wait) wins over `breaker` when it ends later; `soft`
 * marks an open breaker of a target that still answers (5xx, bad bodies), the
 * only kind a route may call anyway as its last way out.
 */
export type Availability =
  | { ok: true; probe: boolean; soft: boolean; failures: number }
  | { ok: false; until: number; cause: 'breaker' | 'backoff'; soft: boolean; failures: number };

const HEALTHY: Availability = { ok: true, probe: false, soft: false, failures: 0 };

export function availability(target: Pick<Target, 'id' | 'provider'>, now: number = Date.now()): Availability {
  if (known.size === 0) return HEALTHY;
  const health = known.get(target.id);
  const account = known.get(providerScope(target.provider));
  const accountUntil = account && account.retryAfterUntil > now ? account.retryAfterUntil : 0;
  if (!health) return accountUntil ? { ok: false, until: accountUntil, cause: 'backoff', soft: false, failures: 0 } : HEALTHY;
  const failures = health.consecutiveFailures;
  const backoffUntil = Math.max(health.retryAfterUntil > now ? health.retryAfterUntil : 0, accountUntil);
  const blockedUntil = Math.max(health.blockedUntil, accountUntil);
  const soft = !health.unreachable;
  if (blockedUntil > now) {
    const cause = backoffUntil >= blockedUntil ? 'backoff' : 'breaker';
    return { ok: false, until: blockedUntil, cause, soft: soft && backoffUntil === 0, failures };
  }
  const halfOpen = health.state === 'half_open' || health.state === 'open';
  return { ok: true, probe: halfOpen, soft, failures };
}

/** One probe for the whole fleet: true when this call may be it. */
export async function claimProbe(env: Env, targetId: string, breaker: BreakerSettings): Promise<boolean> {
  try {
    return await stub(env).claimProbe(targetId, breaker);
  } catch (error) {
    console.error(`target health unavailable for a probe (letting it through): ${String(error)}`);
    return true;
  }
}

function applyLocally(targetId: string, outcome: Outcome, breaker: BreakerSettings, now: number): void {
  const health = known.get(targetId) ?? { target: targetId, state: 'closed', consecutiveFailures: 0, blockedUntil: 0, retryAfterUntil: 0, unreachable: false };
  if (outcome.ok) {
    known.delete(targetId);
    return;
  }
  if (outcome.retryAfterMs !== undefined) health.retryAfterUntil = Math.max(health.retryAfterUntil, now + outcome.retryAfterMs);
  if (outcome.backoffOnly) {
    health.blockedUntil = Math.max(health.blockedUntil, health.retryAfterUntil);
    known.set(targetId, health);
    return;
  }
  health.consecutiveFailures++;
  health.unreachable = outcome.unreachable === true;
  if (health.consecutiveFailures >= breaker.failures && health.state === 'closed') {
    health.state = 'open';
    health.blockedUntil = now + breaker.cooldown_ms;
  }
  health.blockedUntil = Math.max(health.blockedUntil, health.retryAfterUntil);
  known.set(targetId, health);
}

export function report(env: Env, ctx: Waiter, targetId: string, outcome: Outcome, breaker: BreakerSettings): void {
  const onRecord = known.has(targetId);
  if (outcome.ok && !onRecord) return;
  applyLocally(targetId, outcome, breaker, Date.now());
  ctx.waitUntil(send(env, targetId, outcome, breaker));
}

async function send(env: Env, targetId: string, outcome: Outcome, breaker: BreakerSettings): Promise<void> {
  try {
    const health = await stub(env).report(targetId, outcome, breaker);
    // The fleet's answer wins over our guess.
    if (health.state === 'closed' && health.consecutiveFailures === 0 && health.blockedUntil === 0) known.delete(targetId);
    else known.set(targetId, health);
  } catch (error) {
    console.error(`target health report failed: ${String(error)}`);
  }
}

/** Test seam: what a brand-new isolate knows (nothing). */
export function forgetLocalHealth(): void {
  known = new Map();
  fetchedAt = -Infinity;
  refreshing = false;
}
