import { readCapped } from '../core/read-capped';
import { GatewayError } from '../errors';
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

/**
 * Below this declared length a body is read in one native call, under one idle
 * timer for the whole of it: it comes in a packet or a few, and reading it chunk by
 * chunk in JavaScript is most of what an answer costs the gateway to receive.
 */
const SMALL_BODY = 256 * 1024;

export async function readUpstreamBody(response: Response, target: Target, onIdle: () => void): Promise<string> {
  const cap = target.maxResponseBytes;
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > cap) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge(target);
  }
  if (!response.body) return '';
  let idle = setTimeout(onIdle, target.timeouts.idle_ms);
  // The runtime delivers exactly the declared length (HTTP framing), so the cap holds.
  if (declared <= SMALL_BODY) {
    try {
      return await response.text();
    } finally {
      clearTimeout(idle);
    }
  }
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

/** An error answer's body is read up to here: enough for any provider's message, and no more of a huge one. */
const MAX_ERROR_BODY = 16 * 1024;

/** The start of a non-2xx body, for the provider's parseError. A body that breaks while read still leaves its status. */
export async function readErrorBody(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < MAX_ERROR_BODY) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // The status is what counts.
  } finally {
    reader.cancel().catch(() => {});
  }
  return text;
}

/** A 3xx is never followed (fetch runs with redirect: "manual"): it fails the attempt without a retry. */
export function redirected(response: Response, target: Target): GatewayError {
  void response.body?.cancel().catch(() => {});
  return new GatewayError('upstream_failed', `Provider "${target.provider}" answered with a redirect (${response.status}), which the gateway does not follow`, {
    failover: true,
    upstreamStatus: response.status,
  });
}
