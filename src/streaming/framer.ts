import type { GatewayError } from '../errors';

/**
 * How a stream reaches the client: the ingress format's framing of the gateway's
 * internal chunks (OpenAI chat/completion chunks as JSON text, translator.ts).
 * The relay and the cache's replay feed a framer; they never write a wire format
 * themselves. OpenAI's framing is a `data:` line per chunk; the Responses and
 * Anthropic Messages formats re-shape chunks into their own typed events.
 *
 * Each method returns the text to send, '' for nothing. A framer is made per call
 * and may keep state (which output item is open, what has been said).
 */
export interface StreamFramer {
  /** One chunk; `usageOnly` when it carries only usage (no choices), which OpenAI sends only to clients that ask. */
  chunk(data: string, usageOnly: boolean): string;
  /** The stream ended properly. */
  done(): string;
  /** The stream failed after it started: its one in-band error event (a silent end would look complete). */
  error(error: GatewayError): string;
}
