import type { SseEvent } from '../streaming/sse';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
import type { Target } from '../core/target';

/**
 * The one interface every provider implements. A provider translates and makes
 * exactly one upstream call: it never retries, fails over, caches or logs (that is
 * routing/, cache/ and logging/). Adding a provider is one file here plus one line
 * in registry.ts.
 */

export interface UpstreamCall {
  endpoint: Operation;
  /** The caller's JSON body as received; providers copy, never mutate it. */
  body: JsonObject;
  stream: boolean;
  target: Target;
  /** The provider credential from its Worker secret; never the caller's key. */
  credential: string | undefined;
  requestId: string;
  signal: AbortSignal;
}

export interface Provider {
  supports(endpoint: Operation): boolean;
  /** One upstream call. Non-2xx answers are returned, not thrown. */
  send(call: UpstreamCall): Promise<Response>;
  /** A successful upstream JSON body in OpenAI's shape for the endpoint. */
  toOpenAI(call: UpstreamCall, json: unknown): JsonObject;
  /**
   * One upstream SSE event as the `data` of an OpenAI stream event (a chunk's JSON,
   * or `[DONE]`); null drops the event.
   */
  fromStreamEvent(call: UpstreamCall, event: SseEvent): string | null;
}

export const OPENAI_PATHS: Record<Operation, string> = {
  'chat.completions': '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};
