import type { BreakerSettings, BreakerState, Outcome, TargetHealth } from './health-types';
import { positiveOrZero } from '../core/values';

/**
 * The circuit breaker as pure functions over one target's stored row: no I/O,
 * no clock, no randomness of their own (the Health object passes `now` and
 * `random`). See health-object.ts for the storage and the RPC surface.
 *
 *            failures reach settings.failures
 *   closed ───────────────────────────────────▶ open (until now + jittered cooldown)
 *     ▲                                           │ cooldown over (by time alone)
 *     │ probe succeeds                            ▼
 *     └──────────────────────────────────── half_open ── probe fails ──▶ open (fresh cooldown)
 *
 * The state is not stored: it is derived from `open_until` at the time asked.
 * `retry_after_until` (a provider's 429 wait) is independent of the state: it
 * blocks the target in every state until it passes.
 */

/** One target's row (also the SQLite row: a type alias, so it fits `SqlStorage.exec<T>`). */
export type BreakerRow = {
  target: string;
  /** Consecutive failures: reset by a success while closed or by a successful probe. */
  failures: number;
  /** 0 while closed; otherwise when the cooldown ends (`open` before, `half_open` from then on). */
  open_until: number;
  /** Epoch ms until which the provider asked us to wait; never shortened, expires by time. */
  retry_after_until: number;
  /** Epoch ms until which the claimed half-open probe holds the slot; 0 when free. */
  probe_until: number;
  /** 1 when the last failure got no answer at all (see TargetHealth.unreachable). */
  unreachable: number;
};

export function emptyRow(target: string): BreakerRow {
  return { target, failures: 0, open_until: 0, retry_after_until: 0, probe_until: 0, unreachable: 0 };
}

export function stateAt(row: BreakerRow, now: number): BreakerState {
  if (row.open_until === 0) return 'closed';
  return now < row.open_until ? 'open' : 'half_open';
}

/** What the contract exposes: the derived state and whatever blocks the target at `now`. */
export function healthAt(row: BreakerRow, now: number): TargetHealth {
  const state = stateAt(row, now);
  const retryAfterUntil = row.retry_after_until > now ? row.retry_after_until : 0;
  const cooldownUntil = state === 'open' ? row.open_until : 0;
  return {
    target: row.target,
    state,
    consecutiveFailures: row.failures,
    blockedUntil: Math.max(cooldownUntil, retryAfterUntil),
    retryAfterUntil,
    unreachable: row.unreachable === 1,
  };
}

/** Closed, no failures, no pending wait: indistinguishable from a target never reported. */
export function isPristine(row: BreakerRow, now: number): boolean {
  return row.open_until === 0 && row.failures === 0 && row.retry_after_until <= now;
}

/**
 * The jittered cooldown in whole ms: cooldown_ms × a factor uniform in
 * [1 − jitter, 1 + jitter]. `random` is in [0, 1) like Math.random (1 is
 * accepted too, giving exactly the upper bound); jitter is clamped to [0, 1].
 */
export function cooldownMs(settings: BreakerSettings, random: number): number {
  const jitter = clamp(settings.jitter, 0, 1);
  const factor = 1 - jitter + 2 * jitter * clamp(random, 0, 1);
  return Math.round(positiveOrZero(settings.cooldown_ms) * factor);
}

/**
 * One attempt's outcome. By state:
 *  closed     failure: count it; at `settings.failures` (at least 1) open for a
 *             jittered cooldown. success: the count goes back to 0.
 *  open       failure: counted, the cooldown is NOT extended (late reports of
 *             calls already in flight when it opened). success: ignored, the
 *             breaker stays open: such a call was started before the breaker
 *             opened, so it says nothing about the target now; only the probe
 *             after the cooldown may close it.
 *  half_open  the report is taken as the probe's outcome (reports carry no
 *             probe id): success closes (count 0), failure re-opens with a fresh
 *             jittered cooldown; either way the probe slot is freed.
 * On any failure with `retryAfterMs`, retry_after_until = max(current, now +
 * retryAfterMs), whatever the state. A success never clears it. Every failure
 * records whether it got an answer at all (`unreachable`); a success clears that.
 * A `backoffOnly` outcome records its wait and nothing else.
 */
export function applyOutcome(
  row: BreakerRow,
  outcome: Outcome,
  settings: BreakerSettings,
  now: number,
  random: () => number,
): BreakerRow {
  const next = { ...row };
  const state = stateAt(row, now);
  if (outcome.ok) {
    if (state === 'closed') Object.assign(next, { failures: 0, unreachable: 0 });
    if (state === 'half_open') Object.assign(next, { failures: 0, open_until: 0, probe_until: 0, unreachable: 0 });
    return next;
  }
  const wait = outcome.retryAfterMs;
  if (wait !== undefined && Number.isFinite(wait) && wait > 0) {
    next.retry_after_until = Math.max(row.retry_after_until, now + Math.ceil(wait));
  }
  if (outcome.backoffOnly) return next;
  next.failures = row.failures + 1;
  next.unreachable = outcome.unreachable ? 1 : 0;
  if (state === 'half_open') {
    next.open_until = now + cooldownMs(settings, random());
    next.probe_until = 0;
  } else if (state === 'closed' && next.failures >= Math.max(1, Math.floor(settings.failures))) {
    next.open_until = now + cooldownMs(settings, random());
    next.probe_until = 0;
  }
  return next;
}

/**
 * May the caller send a request now? closed: yes (nothing to claim); open or
 * waiting out a retry-after: no; half_open: yes for exactly one caller, who
 * holds the slot until `now + probe_lease_ms` unless its outcome is reported
 * first. Returns the row to store when the slot was taken, else null.
 */
export function claim(row: BreakerRow, settings: BreakerSettings, now: number): { granted: boolean; row: BreakerRow | null } {
  if (row.retry_after_until > now) return { granted: false, row: null };
  const state = stateAt(row, now);
  if (state === 'closed') return { granted: true, row: null };
  if (state === 'open' || row.probe_until > now) return { granted: false, row: null };
  return { granted: true, row: { ...row, probe_until: now + positiveOrZero(settings.probe_lease_ms) } };
}

function clamp(n: number, lo: number, hi: number): number {
  return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : lo;
}

