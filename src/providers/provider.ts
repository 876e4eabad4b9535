import type { ProviderConfig, Timeouts } from '../config/schema';
import type { JsonObject } from '../http/body';
import type { SseEvent } from '../streaming/sse';

/**
 * The one interface every provider implements. A provider translates and makes
 * exactly one upstream call: it never retries, fails over, caches or logs (that is
 * routing/, cache/ and logging/). Adding a provider is one file here plus one line
 * in registry.ts.
 */

export type Endpoint = 'chat.completions' | 'completions' | 'embeddings';

/** One configured place a model can be served from. */
export interface Target {
  /** Provider name from the config (not its kind). */
  provider: string;
  config: ProviderConfig;
  /** The model id this provider knows. */
  model: string;
  /** `provider/model`: names the target in health, logs and prices. */
  id: string;
  /** Share of its tier's traffic. */
  weight: number;
  timeouts: Timeouts;
  /** Cap on a non-streamed answer's body (the provider's `max_response_bytes`, else the gateway's). */
  maxResponseBytes: number;
}

export interface UpstreamCall {
  endpoint: Endpoint;
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
  supports(endpoint: Endpoint): boolean;
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

export const OPENAI_PATHS: Record<Endpoint, string> = {
  'chat.completions': '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};
