import { rememberBodyText } from '../core/body-text';
import type { JsonObject } from '../core/json';
import { readCapped } from '../core/read-capped';
import { GatewayError } from '../errors';

const decoder = new TextDecoder();

function tooLarge(cap: number): GatewayError {
  return new GatewayError('request_too_large', `Request body exceeds the gateway's limit of ${cap} bytes`);
}

/**
 * The body's bytes, or null when there is none, under `cap`: a declared length over
 * it is refused before reading; with a declared length the runtime delivers exactly
 * that many bytes (HTTP framing), so one native read; without one (chunked), the
 * read stops as soon as it passes the cap rather than buffering the body whole.
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

/** The body as a JSON object, read under the cap as readBody reads it. */
export async function readJsonObject(request: Request, cap: number): Promise<JsonObject> {
  const bytes = await readBody(request, cap);
  if (!bytes) throw new GatewayError('invalid_json', 'Request body is empty; expected a JSON object');
  const text = decoder.decode(bytes);

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GatewayError('invalid_json', 'Request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GatewayError('invalid_json', 'Request body must be a JSON object');
  }
  rememberBodyText(parsed as JsonObject, text);
  return parsed as JsonObject;
}
