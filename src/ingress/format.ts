import type { JsonObject } from '../core/json';
import type { GatewayError } from '../errors';
import type { StreamFramer } from '../streaming/framer';

/**
 * The response side of a public API the gateway speaks (OpenAI's; the Responses
 * and Anthropic Messages formats): what the client reads for a call's answer, its
 * stream and its errors. Every model call runs as one internal shape, OpenAI's
 * chat/completion/embedding answer and chunks; a format re-shapes them on the
 * way out (respond.ts does the rest, the same for every format).
 */
export interface IngressFormat {
  /**
   * A non-streamed answer's body. `text` is the upstream's own bytes when `json` is
   * exactly what it sent, for a format that can pass them on without re-serializing.
   */
  answer(json: JsonObject, text: string | undefined): string;
  /** A fresh framer for one streamed answer. */
  framer(): StreamFramer;
  /** An error as this format's clients expect it (status, body, headers). */
  errorResponse(error: GatewayError, headers?: Record<string, string>): Response;
}
