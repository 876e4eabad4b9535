import type { GatewayConfig, KeyConfig } from '../config/schema';
import type { JsonObject } from '../core/json';
import { capturePayload, type PayloadCapture } from '../logging/payload-capture';
import { bodyKind, type BodyKind } from './usage';

/**
 * Payload logs of passthrough calls (logging/payload-capture.ts), for a key or model
 * that logs them like any other call: the request as the caller sent it (its JSON;
 * any other body by type and size) and the answer as the provider sent it: JSON
 * parsed, an event stream as its text, anything else (audio, files) by type and
 * size. Text is kept up to `log.payload_max_bytes`, beyond which the payload log
 * truncates the document anyway.
 */

export function capturePassthrough(config: GatewayConfig, key: KeyConfig, model: string, json: JsonObject | undefined, body: Uint8Array | null, contentType: string | null): PayloadCapture | undefined {
  const request = json ?? (body && body.byteLength > 0 ? { content_type: contentType, bytes: body.byteLength } : {});
  return capturePayload(config, key, model, request);
}

/** The answer's body, as it goes by on its way to the client. */
export class AnswerCapture {
  private readonly kind: BodyKind;
  private readonly decoder = new TextDecoder();
  private text = '';
  private bytes = 0;

  constructor(
    private readonly capture: PayloadCapture,
    private readonly contentType: string | null,
    private readonly maxBytes: number,
  ) {
    this.kind = bodyKind(contentType);
  }

  push(chunk: Uint8Array): void {
    this.bytes += chunk.byteLength;
    if (this.kind !== 'other' && this.text.length < this.maxBytes) this.text += this.decoder.decode(chunk, { stream: true });
  }

  /** A body cut short keeps no answer, as for any other call. */
  end(complete: boolean): void {
    this.capture.answered(complete ? this.answer() : undefined);
  }

  /** An error answer, read whole. */
  whole(text: string): void {
    this.text = text;
    this.bytes = new TextEncoder().encode(text).byteLength;
    this.capture.answered(this.answer());
  }

  private answer(): JsonObject {
    if (this.kind === 'other') return { content_type: this.contentType, bytes: this.bytes };
    if (this.kind === 'sse') return { stream: this.text };
    try {
      const parsed = JSON.parse(this.text) as unknown;
      if (typeof parsed === 'object' && parsed !== null) return parsed as JsonObject;
    } catch {
      // Not JSON after all, or longer than was kept: kept as text.
    }
    return { text: this.text };
  }
}
