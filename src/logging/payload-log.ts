import type { GatewayConfig } from '../config/schema';
import type { Env } from '../env';
import type { CallRecord } from './call-record';
import { redactJson, redactor, type Redact } from './redact';

/**
 * Writes a call's payload (payload-capture.ts) to R2 as one JSON document, key
 * `<yyyy-mm-dd>/<request_id>.json` (the day the call arrived, UTC), after
 * redaction (redact.ts) and within `log.payload_max_bytes`. Written in
 * `waitUntil`; a failure is reported on the console and never reaches the call.
 */

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text).length;

/** The R2 key of a call's payload, from its `calls.request_id` and `calls.ts`. */
export function payloadKey(requestId: string, ts: string): string {
  return `${ts.slice(0, 10)}/${requestId}.json`;
}

export function logPayload(env: Env, ctx: { waitUntil(promise: Promise<unknown>): void }, config: GatewayConfig, record: CallRecord): void {
  const capture = record.payload;
  if (!capture) return;
  const bucket = env.PAYLOADS;
  if (!bucket) {
    console.error(`payload log: no R2 binding named PAYLOADS; request ${record.requestId} not stored`);
    return;
  }
  let text: string;
  try {
    text = payloadDocument(record, redactor(config, env), config.log.payload_max_bytes);
  } catch (error) {
    console.error(`payload log: request ${record.requestId} not stored: ${String(error)}`);
    return;
  }
  ctx.waitUntil(
    bucket
      .put(payloadKey(record.requestId, new Date(record.startedAt).toISOString()), text, { httpMetadata: { contentType: 'application/json' } })
      .catch((error: unknown) => console.error(`payload log: request ${record.requestId} not stored: ${String(error)}`)),
  );
}

/**
 * The stored document: the call's log fields, its tags, the redacted request and
 * answer. Over `maxBytes`, the request and answer become the start of their JSON
 * text (strings ending in a marker) and `truncated` is true.
 */
export function payloadDocument(record: CallRecord, redact: Redact, maxBytes: number): string {
  const capture = record.payload!;
  const request = redactJson(capture.request, redact);
  const response = capture.response === undefined ? null : redactJson(capture.response, redact);
  const head = {
    request_id: record.requestId,
    ts: new Date(record.startedAt).toISOString(),
    key_id: record.keyId,
    endpoint: record.endpoint,
    model: record.model,
    provider: record.provider,
    upstream_model: record.upstreamModel,
    stream: record.stream,
    status: record.status,
    error_code: record.errorCode,
    cache_status: record.cacheStatus,
    metadata: record.metadata === null ? null : (redactJson(JSON.parse(record.metadata), redact) as object),
  };
  const whole = JSON.stringify({ ...head, truncated: false, request, response });
  if (bytes(whole) <= maxBytes) return whole;

  const requestText = JSON.stringify(request);
  const responseText = JSON.stringify(response);
  const envelope = bytes(JSON.stringify({ ...head, truncated: true, request: '', response: '' }));
  const room = Math.max(0, maxBytes - envelope);
  // Each side gets half the room, and what the other does not need.
  const requestRoom = Math.max(room / 2, room - bytes(JSON.stringify(responseText)));
  const cutRequest = fit(requestText, Math.floor(requestRoom));
  const cutResponse = fit(responseText, room - bytes(JSON.stringify(cutRequest)));
  return JSON.stringify({ ...head, truncated: true, request: cutRequest, response: cutResponse });
}

/** The longest start of `text`, with a marker when cut, whose JSON string takes at most `room` bytes. */
function fit(text: string, room: number): string {
  if (bytes(JSON.stringify(text)) <= room) return text;
  const marker = `…[truncated: ${bytes(text)} bytes]`;
  let left = room - bytes(JSON.stringify(marker));
  let end = 0;
  while (end < text.length) {
    const size = escapedSize(text, end);
    if (size.bytes > left) break;
    left -= size.bytes;
    end += size.units;
  }
  return text.slice(0, end) + marker;
}

/** Bytes the char at `i` takes inside a JSON string (JSON.stringify's escapes, UTF-8), and its UTF-16 units. */
function escapedSize(text: string, i: number): { bytes: number; units: number } {
  const code = text.charCodeAt(i);
  if (code === 0x22 || code === 0x5c) return { bytes: 2, units: 1 };
  if (code < 0x20) return { bytes: code === 8 || code === 9 || code === 10 || code === 12 || code === 13 ? 2 : 6, units: 1 };
  if (code < 0x80) return { bytes: 1, units: 1 };
  if (code < 0x800) return { bytes: 2, units: 1 };
  if (code >= 0xd800 && code <= 0xdbff) {
    const next = text.charCodeAt(i + 1);
    return next >= 0xdc00 && next <= 0xdfff ? { bytes: 4, units: 2 } : { bytes: 6, units: 1 };
  }
  if (code >= 0xdc00 && code <= 0xdfff) return { bytes: 6, units: 1 };
  return { bytes: 3, units: 1 };
}
