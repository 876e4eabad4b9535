import type { RetrySettings } from '../config/routing-schema';
import { GatewayError } from '../errors';

/**
 * All waiting between upstream attempts happens here: full-jitter exponential
 * backoff, the upstream's own requested wait, and the abortable sleep itself.
 * (The other timers of the gateway are timeouts, the log's batch window and the
 * single-flight poll: none of them delays a retry.)
 */

/** Statuses worth another attempt at the same target (529: Anthropic's "overloaded"). */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504, 529]);

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): random(0, min(cap, base × 2^n)). */
export function fullJitter(retry: number, settings: RetrySettings, random: () => number = Math.random): number {
  const ceiling = Math.min(settings.cap_ms, settings.base_ms * 2 ** retry);
  return Math.floor(random() * ceiling);
}

/** Go's duration format, as OpenAI writes x-ratelimit-reset-*: `20ms`, `1s`, `1.5s`, `6m0s`, `1h2m3s`. */
export function parseGoDuration(text: string): number | undefined {
  const match = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/.exec(text.trim());
  if (!match || text.trim() === '' || match.slice(1).every((part) => part === undefined)) return undefined;
  const [, h, m, s, ms] = match;
  return Number(h ?? 0) * 3_600_000 + Number(m ?? 0) * 60_000 + Number(s ?? 0) * 1000 + Number(ms ?? 0);
}

function nonNegative(value: number): number | undefined {
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** A wait beyond this is not a rate limit but garbage (a far date, a unit mix-up): ignored. */
const ABSURD_WAIT_MS = 24 * 3_600_000;

/**
 * How long the upstream asked us to wait, in ms: `retry-after-ms`, else
 * `retry-after` (seconds, or an HTTP date), else OpenAI's `x-ratelimit-reset-*`.
 * Garbage, and waits over a day, are ignored (undefined); capping long but
 * plausible ones is routing's decision (`max_backoff_ms`).
 */
export function upstreamWaitMs(headers: Headers, now: number = Date.now()): number | undefined {
  const wait = askedWaitMs(headers, now);
  return wait !== undefined && wait <= ABSURD_WAIT_MS ? wait : undefined;
}

function askedWaitMs(headers: Headers, now: number): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const value = nonNegative(Number(ms));
    if (value !== undefined) return value;
  }
  const after = headers.get('retry-after')?.trim();
  if (after) {
    if (/^\d+(\.\d+)?$/.test(after)) return Number(after) * 1000;
    const date = Date.parse(after);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const resets = ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens']
    .map((name) => headers.get(name))
    .map((value) => (value ? parseGoDuration(value) : undefined))
    .filter((value): value is number => value !== undefined);
  return resets.length > 0 ? Math.max(...resets) : undefined;
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
