import type { RetrySettings } from '../config/routing-schema';
import { GatewayError } from '../errors';

/**
 * All waiting between upstream attempts happens here: full-jitter exponential
 * backoff, the upstream's own requested wait (read by the provider: providers/http-errors.ts),
 * and the abortable sleep itself.
 * (The other timers of the gateway are timeouts, the log's batch window and the
 * single-flight poll: none of them delays a retry.)
 */

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): random(0, min(cap, base × 2^n)). */
export function fullJitter(retry: number, settings: RetrySettings, random: () => number = Math.random): number {
  const ceiling = Math.min(settings.cap_ms, settings.base_ms * 2 ** retry);
  return Math.floor(random() * ceiling);
}

/** Sleeps `ms`, or rejects at once with client_closed if the client goes away meanwhile. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  const closed = () => new GatewayError('client_closed', 'The client closed the connection');
  if (signal.aborted) return Promise.reject(closed());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(closed());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
