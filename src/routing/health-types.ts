import type { RoutingSettings } from '../config/routing-schema';

/**
 * The contract between the Worker and the Health Durable Object: one object
 * (named "fleet") holds every target's circuit breaker and any wait a provider
 * asked for, so all isolates back off together. Isolates keep a short-lived copy
 * (src/routing/health.ts) and only talk to the object on failures, recoveries,
 * probes, and a background refresh.
 */

/** Consecutive failures that open a breaker, its jittered cooldown and the probe's lease (config/routing-schema.ts). */
export type BreakerSettings = RoutingSettings['breaker'];

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface TargetHealth {
  /** `provider/model`. */
  target: string;
  /** `open` while blocked by the breaker; `half_open` once its cooldown has passed (one probe may go). */
  state: BreakerState;
  consecutiveFailures: number;
  /** Epoch ms before which the target must not be called (open breaker or provider's retry-after); 0 when not blocked. */
  blockedUntil: number;
  /** Epoch ms until which a provider asked us to wait (429 retry-after), 0 if none. */
  retryAfterUntil: number;
  /**
   * The last failure got no answer at all (connection refused, reset, no headers in
   * time). An open breaker for such a target is a real outage: it is not called
   * even as the last way out. One that answered (5xx, bad body) stays a candidate.
   */
  unreachable: boolean;
}

export type Outcome =
  | { ok: true }
  /**
   * `retryAfterMs`: the wait the provider asked for, if any (shared with the fleet even when the breaker stays closed).
   * `backoffOnly`: record only the wait, not a failure (a provider-wide back-off's pseudo-target).
   */
  | { ok: false; retryAfterMs?: number; unreachable?: boolean; backoffOnly?: boolean };

/** The pseudo-target that holds a provider-wide back-off (`rate_limit_scope = "provider"`). */
export function providerScope(provider: string): string {
  return `${provider}/*`;
}
