import { GatewayError } from '../../errors';
import { httpError } from '../http-errors';
import type { UpstreamCall } from '../provider';
import { asArray, isObject } from './wire';

/**
 * Google's error body (https://ai.google.dev/gemini-api/docs/troubleshooting,
 * google.rpc.Status): `{"error":{"code":429,"message":"…","status":"RESOURCE_EXHAUSTED","details":[…]}}`.
 * The HTTP status decides as for every provider (http-errors.ts: 429 rate limited and
 * retryable, 5xx retryable with failover, 403 the gateway's credential, other 4xx
 * passed on); the gRPC status name goes into the scrubbed message as the code.
 * Two things only Google's body says:
 * - an invalid or revoked API key is a 400 INVALID_ARGUMENT whose ErrorInfo reason is
 *   API_KEY_*: the gateway's credential, not the caller's request, so it is reported
 *   as such (502), never as the caller's 400;
 * - a RetryInfo detail (`"retryDelay": "37s"`) is the wait a 429 asks for when no
 *   retry-after header does.
 */
export function geminiError(call: UpstreamCall, status: number, headers: Headers, body: string): GatewayError {
  const detail = googleStatus(body);
  if (!detail) return httpError(call, status, headers, body);
  if (status < 500 && reasons(detail).some((reason) => reason.startsWith('API_KEY_'))) {
    return new GatewayError('upstream_credential_rejected', `Provider "${call.target.provider}" rejected the gateway's credential (${status})`, { upstreamStatus: status });
  }
  const error = httpError(call, status, headers, JSON.stringify({ error: { message: detail.message, code: detail.status } }));
  const delay = retryDelayMs(detail);
  if (delay === undefined || error.retryAfterMs !== undefined) return error;
  return new GatewayError(error.code, error.message, { ...error.options, retryAfterMs: delay });
}

type GoogleStatus = { message?: unknown; status?: unknown; details?: unknown };

function googleStatus(body: string): GoogleStatus | undefined {
  try {
    const json = JSON.parse(body) as unknown;
    return isObject(json) && isObject(json.error) ? json.error : undefined;
  } catch {
    return undefined; // An HTML page from a proxy: only the status is trustworthy.
  }
}

function reasons(detail: GoogleStatus): string[] {
  return asArray(detail.details)
    .filter(isObject)
    .map((d) => (typeof d.reason === 'string' ? d.reason : ''));
}

/** A wait beyond this is garbage, not a rate limit (as in http-errors.ts). */
const ABSURD_WAIT_MS = 24 * 3_600_000;

/** google.rpc.RetryInfo's retryDelay, a protobuf Duration in JSON: seconds with an `s`, e.g. "37s", "1.5s". */
function retryDelayMs(detail: GoogleStatus): number | undefined {
  const info = asArray(detail.details).find((d) => isObject(d) && typeof d['@type'] === 'string' && d['@type'].endsWith('google.rpc.RetryInfo'));
  const delay = isObject(info) ? info.retryDelay : undefined;
  const match = typeof delay === 'string' ? /^(\d{1,9}(?:\.\d{1,9})?)s$/.exec(delay) : null;
  if (!match) return undefined;
  const ms = Math.round(Number(match[1]) * 1000);
  return ms <= ABSURD_WAIT_MS ? ms : undefined;
}
