import type { GatewayError } from '../errors';
import type { UpstreamEvents } from './event-reader';
import type { SseEvent } from './sse';

/**
 * The contract between a provider's stream and the relay. A provider gives each
 * streamed call its own translator (it may keep state: a tool call's index, whether
 * anything was sent yet); the gateway feeds it the upstream's SSE events in order.
 *
 * A chunk is the JSON text of one OpenAI chat/completion chunk. Strings, not
 * objects: an OpenAI-format upstream's event is already one, and passes through
 * without being parsed or copied.
 */

/** Emitted once, when the upstream's stream ended properly (OpenAI's terminator). */
export const DONE = '[DONE]';

/** Nothing (null), one chunk, several, or a failure that ends the stream. */
export type Translated = string | readonly string[] | null | GatewayError;

export interface StreamTranslator {
  push(event: SseEvent): Translated;
  /**
   * The upstream closed its stream: last chunks, and DONE if it had finished
   * properly. A stream that ends without DONE is cut.
   */
  end(): Translated;
}

/** The stream an attempt hands on: its first chunks already translated (routing/attempt.ts), the rest to read. */
export interface UpstreamStream {
  events: UpstreamEvents;
  translator: StreamTranslator;
  first: readonly string[];
}

/**
 * Rewrites a stream's chunks between the translator and the framer (output
 * guardrails: src/guardrails/stream.ts). It may hold text back, a bounded window, to
 * see a match across chunk boundaries; what it gives back for the DONE chunk ends
 * the stream. A failure ends it with the framer's error event.
 */
export interface ChunkGuard {
  push(chunk: string): readonly string[] | GatewayError;
}
