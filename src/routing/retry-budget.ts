import type { RoutingSettings } from '../config/routing-schema';

/**
 * The retry budget (as in Envoy and gRPC): extra attempts, retries and failovers
 * alike, may be at most `ratio` × first attempts over the last `window_s`, with a
 * floor of `min_per_window` so a quiet isolate can still retry. When every call is
 * failing this caps the load the gateway adds to a struggling upstream at
 * (1 + ratio) ×, instead of (attempts per call) ×. Counted per isolate, in
 * one-second buckets.
 */

type Budget = RoutingSettings['retry_budget'];

const firsts = new Map<number, number>();
const extras = new Map<number, number>();

function sum(buckets: Map<number, number>, from: number): number {
  let total = 0;
  for (const [second, count] of buckets) {
    if (second >= from) total += count;
    else buckets.delete(second);
  }
  return total;
}

export function recordFirstAttempt(now: number = Date.now()): void {
  const second = Math.floor(now / 1000);
  firsts.set(second, (firsts.get(second) ?? 0) + 1);
}

/** Takes one extra attempt from the budget; false when it is spent. */
export function tryExtraAttempt(budget: Budget, now: number = Date.now()): boolean {
  const second = Math.floor(now / 1000);
  const from = second - budget.window_s + 1;
  const allowed = Math.max(budget.min_per_window, Math.floor(budget.ratio * sum(firsts, from)));
  if (sum(extras, from) >= allowed) return false;
  extras.set(second, (extras.get(second) ?? 0) + 1);
  return true;
}
