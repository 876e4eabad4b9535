import { GatewayError } from '../errors';
import type { UpstreamCall } from './provider';
import { fieldPath, scrub } from './scrub';

/**
 * An upstream's non-2xx HTTP answer as a GatewayError, for providers whose errors
 * look like OpenAI's (`{"error":{"message","code","param"}}`, or a bare
 * `{"error": "..."}` / `{"message": "..."}`) or Anthropic's
 * (`{"type":"error","error":{"type","message"}}`). The caller gets our own vocabulary:
 * our `type` and `code` for the status, the upstream's `message` and `code` only
 * inside a scrubbed message, and its `param` only when it is a plain field path.
 * Whether to retry, fail over and how long to wait is read here too, from the
 * status and headers; routing decides what to do with it.
 */

/** Statuses worth another attempt at the same target (529: Anthropic's "overloaded"). */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504, 529]);

/** Headers that tell a client when to come back; passed on with 4xx/5xx other than 429. */
const RETRY_HEADERS = ['retry-after', 'retry-after-ms', 'x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens'];

type Detail = { message?: unknown; type?: unknown; code?: unknown; param?: unknown };

function detailOf(text: string): Detail {
  try {
    const json = JSON.parse(text) as { type?: unknown; error?: unknown; message?: unknown };
    if (typeof json.error === 'object' && json.error !== null) {
      const detail = json.error as Detail;
      // Anthropic's shape, `{"type":"error","error":{"type":"overloaded_error","message"}}`: its error type is its code.
      return json.type === 'error' && detail.code === undefined ? { ...detail, code: detail.type } : detail;
    }
    if (typeof json.error === 'string') return { message: json.error };
    if (typeof json.message === 'string') return { message: json.message };
  } catch {
    // Not JSON (an HTML error page, a proxy's text): only the status is trustworthy.
  }
  return {};
}

export function httpError(call: UpstreamCall, status: number, headers: Headers, text: string): GatewayError {
  const { provider } = call.target;
  const credential = call.credential;
  const detail = detailOf(text);
  const said = typeof detail.message === 'string' ? scrub(detail.message, [credential]) : '';
  const code = typeof detail.code === 'string' ? scrub(detail.code, [credential]).slice(0, 64) : '';
  const message = `Provider "${provider}" answered ${status}${code ? ` (${code})` : ''}${said ? `: ${said}` : ''}`;

  const passed: Record<string, string> = {};
  for (const name of RETRY_HEADERS) {
    const value = headers.get(name);
    if (value && value.length < 64) passed[name] = value;
  }
  const retryAfterMs = upstreamWaitMs(headers);
  const upstream = { upstreamStatus: status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  const retryable = RETRYABLE_STATUSES.has(status);
  if (status === 401 || status === 403) {
    // The provider refused the gateway's credential: the caller's key is fine, so
    // a 401 here would send the client's user chasing the wrong key.
    return new GatewayError('upstream_credential_rejected', `Provider "${provider}" rejected the gateway's credential (${status})`, upstream);
  }
  if (status === 429) {
    // Routing sets retry-after from the (capped) wait; the provider's own
    // x-ratelimit-* describe the operator's account, not the caller's.
    return new GatewayError('upstream_rate_limited', message, { retryable, ...upstream });
  }
  if (status >= 500) {
    return new GatewayError('upstream_failed', message, { retryable, failover: true, headers: passed, ...upstream });
  }
  return new GatewayError('upstream_rejected', message, {
    status,
    param: fieldPath(detail.param, credential),
    headers: passed,
    // Another attempt (or target) may have quota or capacity left; a malformed request will not improve.
    retryable,
    ...upstream,
  });
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
