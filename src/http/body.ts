import type { JsonObject } from '../core/json';
import { readCapped } from '../core/read-capped';
import { GatewayError } from '../errors';

const decoder = new TextDecoder();

function tooLarge(cap: number): GatewayError {
  return new GatewayError('request_too_large', `Request body exceeds the gateway's limit of ${cap} bytes`);
}

/**
 * The body's bytes, or null when there is none (a passthrough forwards any body), under
 * the same cap as readJsonObject: a declared length over it refused before reading,
 * none (chunked) cut off at the cap.
 */
export async function readBody(request: Request, cap: number): Promise<Uint8Array | null> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > cap) throw tooLarge(cap);
  if (!request.body) return null;
  if (declared >= 0) return new Uint8Array(await request.arrayBuffer());
  const bytes = await readCapped(request.body, cap);
  if (!bytes) throw tooLarge(cap);
  return bytes;
}

/**
 * Reads the body, stopping as soon as it passes `cap`: a declared Content-Length
 * over the cap is refused before reading, and a body that lies about (or omits) its
 * length is cut off at the cap rather than buffered whole.
 */
export async function readJsonObject(request: Request, cap: number): Promise<JsonObject> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > cap) throw tooLarge(cap);
  if (!request.body) throw new GatewayError('invalid_json', 'Request body is empty; expected a JSON object');

  // With a declared length the runtime delivers exactly that many bytes (HTTP
  // framing): one native read. Without one (chunked), read under the cap.
  let text: string;
  if (declared >= 0) {
    text = await request.text();
  } else {
    const bytes = await readCapped(request.body, cap);
    if (!bytes) throw tooLarge(cap);
    text = decoder.decode(bytes);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GatewayError('invalid_json', 'Request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GatewayError('invalid_json', 'Request body must be a JSON object');
  }
  return parsed as JsonObject;
}
