import type { Caller } from '../auth/key-ring';
import { GatewayError } from '../errors';
import type { Target } from '../core/target';

/**
 * Chaos for users: a key with `chaos = true` may send `x-gateway-chaos` to make the
 * gateway fail the first attempt at the first target, so a team can watch its app
 * ride through real retries and failover. Simulated failures never count against
 * the target's health. `cut-stream` lets the stream start, then cuts it after its
 * first event (past the point of failover: the client sees the error event).
 */

export const CHAOS_MODES = ['429', '500', 'timeout', 'cut-stream'] as const;
export type ChaosMode = (typeof CHAOS_MODES)[number];

export function chaosFrom(headers: Headers, caller: Caller): ChaosMode | undefined {
  const raw = headers.get('x-gateway-chaos');
  if (raw === null) return undefined;
  if (!caller.policy.chaos) {
    throw new GatewayError('chaos_not_allowed', 'This key may not send x-gateway-chaos', { param: 'x-gateway-chaos' });
  }
  const mode = raw.trim().toLowerCase();
  if (!(CHAOS_MODES as readonly string[]).includes(mode)) {
    throw new GatewayError('invalid_request', `x-gateway-chaos must be one of ${CHAOS_MODES.join(', ')}`, { param: 'x-gateway-chaos' });
  }
  return mode as ChaosMode;
}

/** The failure a simulated mode stands for (a stream's cut is applied to its body instead). */
export function chaosFailure(mode: ChaosMode, target: Target): GatewayError {
  const simulated = { synthetic: true, retryable: true };
  if (mode === '429') {
    return new GatewayError('upstream_rate_limited', `Provider "${target.provider}" answered 429 (simulated by x-gateway-chaos)`, {
      ...simulated, upstreamStatus: 429, retryAfterMs: 0,
    });
  }
  if (mode === '500') {
    return new GatewayError('upstream_failed', `Provider "${target.provider}" answered 500 (simulated by x-gateway-chaos)`, { ...simulated, upstreamStatus: 500 });
  }
  if (mode === 'cut-stream') {
    return new GatewayError('upstream_failed', `Provider "${target.provider}" reset the connection (simulated by x-gateway-chaos)`, simulated);
  }
  return new GatewayError('upstream_timeout', `Provider "${target.provider}" timed out (simulated by x-gateway-chaos)`, simulated);
}
