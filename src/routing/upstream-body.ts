import { readCapped } from '../core/read-capped';
import { GatewayError } from '../errors';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
import type { Target } from '../core/target';

/**
 * Reads a non-streamed upstream body under two guards: a size cap, checked on the
 * declared Content-Length and again while reading (an upstream that sends 60 MB
 * would otherwise be buffered, parsed and relayed whole, and a few at once exhaust
 * an isolate's 128 MB), and an idle timeout that restarts on every chunk, so a body
 * that stalls after its headers does not hold the call until the total timeout.
 */

export function tooLarge(target: Target): GatewayError {
  return new GatewayError(
    'upstream_response_too_large',
    `Provider "${target.provider}" sent an answer larger than the gateway's limit of ${target.maxResponseBytes} bytes`,
    { failover: true },
  );
}

export async function readUpstreamBody(response: Response, target: Target, onIdle: () => void): Promise<string> {
  const cap = target.maxResponseBytes;
  if (Number(response.headers.get('content-length') ?? 0) > cap) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge(target);
  }
  if (!response.body) return '';
  let idle = setTimeout(onIdle, target.timeouts.idle_ms);
  const restart = () => {
    clearTimeout(idle);
    idle = setTimeout(onIdle, target.timeouts.idle_ms);
  };
  try {
    const bytes = await readCapped(response.body, cap, restart);
    if (!bytes) throw tooLarge(target);
    return new TextDecoder().decode(bytes);
  } finally {
    clearTimeout(idle);
  }
}

/**
 * The least a 200 must carry to be an answer: `choices` for (chat) completions,
 * `data` for embeddings. Anything else (a `{"error":…}` sent with 200, an empty
 * object) is a failed attempt that can be retried elsewhere, not a success to
 * relay and log.
 */
export function checkAnswerShape(endpoint: Operation, json: JsonObject, target: Target): void {
  const list = endpoint === 'embeddings' ? json.data : json.choices;
  if (Array.isArray(list)) return;
  const what = endpoint === 'embeddings' ? '`data`' : '`choices`';
  const said = 'error' in json ? 'an error' : `no ${what}`;
  throw new GatewayError('upstream_invalid_response', `Provider "${target.provider}" answered 200 with ${said} instead of an answer`, { retryable: true });
}

/** A 3xx is never followed (fetch runs with redirect: "manual"): it fails the attempt without a retry. */
export function redirected(response: Response, target: Target): GatewayError {
  void response.body?.cancel().catch(() => {});
  return new GatewayError('upstream_failed', `Provider "${target.provider}" answered with a redirect (${response.status}), which the gateway does not follow`, {
    failover: true,
    upstreamStatus: response.status,
  });
}
