import { GatewayError } from '../errors';
import { RETRYABLE_STATUSES, upstreamWaitMs } from '../routing/retry';
import type { Target } from '../core/target';

/**
 * Turns an upstream's non-2xx answer into a GatewayError. Upstream bodies are
 * untrusted: they can quote internal URLs, credentials or our own request back
 * (in any field, not only `message`). So the caller gets our own vocabulary: our
 * `type` and `code` for the status, the upstream's `message` and `code` only inside
 * a scrubbed message, and its `param` only when it is a plain field path.
 */

const MAX_BODY = 16 * 1024;
const MAX_MESSAGE = 400;
/** What a request field path looks like: `messages[0].content`, `tools`. */
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\[\d{1,4}\]|\.[A-Za-z_][A-Za-z0-9_]*){0,8}$/;
/** A long unbroken run of letters and digits is a token (a key, a hash), never a word. */
const TOKEN_RUN = /[A-Za-z0-9+/=_-]{32,}/g;

/** Headers that tell a client when to come back; passed on with 429/503. */
const RETRY_HEADERS = ['retry-after', 'retry-after-ms', 'x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens'];

export function scrub(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const value of secrets) if (value && value.length >= 4) out = out.split(value).join('[redacted]');
  return out
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, '[url]')
    .replace(/\b(?:sk|pk|rk|hf|gsk|key|api|token)[-_][A-Za-z0-9*_-]{6,}/gi, '[redacted]')
    .replace(/\bBearer\s+[^\s"']+/gi, 'Bearer [redacted]')
    .replace(TOKEN_RUN, '[redacted]')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, MAX_MESSAGE);
}

async function readCapped(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < MAX_BODY) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // A body that breaks while we read it still gives us its status.
  } finally {
    reader.cancel().catch(() => {});
  }
  return text;
}

/** The upstream's param, only when it names a field and carries nothing else. */
function fieldPath(value: unknown, credential: string | undefined): string | null {
  if (typeof value !== 'string' || value.length > 64 || !FIELD_PATH.test(value)) return null;
  if (/[A-Za-z0-9]{20,}/.test(value) || (credential && credential.length >= 4 && value.includes(credential))) return null;
  return scrub(value, [credential]) === value ? value : null;
}

export async function upstreamError(response: Response, target: Target, credential?: string): Promise<GatewayError> {
  const status = response.status;
  const text = await readCapped(response);
  let detail: { message?: unknown; type?: unknown; code?: unknown; param?: unknown } = {};
  try {
    const json = JSON.parse(text) as { error?: unknown; message?: unknown };
    if (typeof json.error === 'object' && json.error !== null) detail = json.error as typeof detail;
    else if (typeof json.error === 'string') detail = { message: json.error };
    else if (typeof json.message === 'string') detail = { message: json.message };
  } catch {
    // Not JSON (an HTML error page, a proxy's text): only the status is trustworthy.
  }
  const said = typeof detail.message === 'string' ? scrub(detail.message, [credential]) : '';
  const code = typeof detail.code === 'string' ? scrub(detail.code, [credential]).slice(0, 64) : '';
  const message = `Provider "${target.provider}" answered ${status}${code ? ` (${code})` : ''}${said ? `: ${said}` : ''}`;

  const headers: Record<string, string> = {};
  for (const name of RETRY_HEADERS) {
    const value = response.headers.get(name);
    if (value && value.length < 64) headers[name] = value;
  }

  const retryAfterMs = upstreamWaitMs(response.headers);
  const upstream = { upstreamStatus: status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  const retryable = RETRYABLE_STATUSES.has(status);
  if (status === 401 || status === 403) {
    // The provider refused the gateway's credential: the caller's key is fine, so
    // a 401 here would send the client's user chasing the wrong key.
    return new GatewayError('upstream_credential_rejected', `Provider "${target.provider}" rejected the gateway's credential (${status})`, {
      ...upstream,
    });
  }
  if (status === 429) {
    // Routing sets retry-after from the (capped) wait; the provider's own
    // x-ratelimit-* describe the operator's account, not the caller's.
    return new GatewayError('upstream_rate_limited', message, { retryable, ...upstream });
  }
  if (status >= 500) {
    return new GatewayError('upstream_failed', message, { retryable, failover: true, headers, ...upstream });
  }
  return new GatewayError('upstream_rejected', message, {
    status,
    param: fieldPath(detail.param, credential),
    headers,
    // Another attempt (or target) may have quota or capacity left; a malformed request will not improve.
    retryable,
    ...upstream,
  });
}
