import type { GatewayConfig } from '../config/schema';
import type { Env } from '../env';
import { GatewayError, retryAfterHeaders } from '../errors';
import { goDuration } from './headers';

/**
 * Brute-force guard: failed authentications per client IP, counted fleet-wide in
 * the IP's limiter object. Only failures pay for the round trip; once an IP is over
 * its limit, this isolate also refuses it locally until the window lets it back in,
 * so a blocked client costs no more limiter calls here.
 */

const blockedUntil = new Map<string, number>();
const MAX_REMEMBERED = 10_000;

export function clientIp(request: Request): string {
  // Set by Cloudflare's edge, which overwrites any value a client sends.
  return request.headers.get('cf-connecting-ip') ?? 'unknown';
}

function tooMany(waitMs: number): GatewayError {
  const wait = Math.max(1, Math.ceil(waitMs));
  return new GatewayError('rate_limit_exceeded', `Too many failed authentication attempts. Try again in ${goDuration(wait)}.`, {
    type: 'authentication',
    headers: retryAfterHeaders(wait),
  });
}

/** Throws 429 when this isolate already knows the IP is blocked. */
export function refuseIfBlocked(ip: string): void {
  const until = blockedUntil.get(ip);
  if (until === undefined) return;
  const left = until - Date.now();
  if (left > 0) throw tooMany(left);
  blockedUntil.delete(ip);
}

/** Counts a failure; returns the 429 to answer instead of 401 once the IP is over its limit. */
export async function countFailure(env: Env, config: GatewayConfig, ip: string): Promise<GatewayError | undefined> {
  const { limit, window_s } = config.limits.auth_failures;
  try {
    const stub = env.LIMITER.get(env.LIMITER.idFromName(`ip:${ip}`));
    const result = await stub.admit({
      id: crypto.randomUUID(),
      rules: [{ name: `auth_failures:${window_s}s`, kind: 'requests', limit, window_ms: window_s * 1000 }],
      tokens: 0,
      cost: 0,
      lease_ms: 1,
    });
    if (result.ok) return undefined;
    if (blockedUntil.size >= MAX_REMEMBERED) blockedUntil.clear();
    blockedUntil.set(ip, Date.now() + result.retry_after_ms);
    return tooMany(result.retry_after_ms);
  } catch (error) {
    // The guard must not turn a limiter outage into refused logins: answer the 401.
    console.error(`auth failure counter unavailable: ${String(error)}`);
    return undefined;
  }
}
