import { GatewayError } from '../errors';
import type { Target } from '../providers/provider';

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
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let idle = setTimeout(onIdle, target.timeouts.idle_ms);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > cap) {
        await reader.cancel().catch(() => {});
        throw tooLarge(target);
      }
      chunks.push(value);
      clearTimeout(idle);
      idle = setTimeout(onIdle, target.timeouts.idle_ms);
    }
  } finally {
    clearTimeout(idle);
  }
  return new TextDecoder().decode(chunks.length === 1 ? chunks[0] : join(chunks, size));
}

function join(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
