import type { z } from 'zod';
import type { ProviderSettings } from '../config/provider-schema';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
import type { Target } from '../core/target';
import type { GatewayError } from '../errors';
import type { StreamTranslator } from '../streaming/translator';

/**
 * The one interface every provider implements. A provider translates and makes
 * exactly one upstream call: it never retries, fails over, caches or logs (that is
 * routing/, cache/ and logging/). Adding a provider is one file here plus one line
 * in registry.ts; its config schema comes with it.
 *
 * Routing (routing/attempt.ts) drives it: buildRequest, send, then parseResponse,
 * or parseError for a non-2xx, or streamTranslator for a stream.
 */

export interface UpstreamCall<C extends ProviderSettings = ProviderSettings> {
  operation: Operation;
  /** The caller's JSON body as received; providers copy, never mutate it. */
  body: JsonObject;
  stream: boolean;
  target: Target<C>;
  /** The provider credential from its Worker secret; never the caller's key. */
  credential: string | undefined;
  requestId: string;
  signal: AbortSignal;
}

export interface UpstreamRequest {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
}

/** A kind's config: an object schema with a literal `kind` (the registry joins them on it). */
export type ProviderSchema = z.ZodObject<{ kind: z.ZodLiteral<string> } & z.ZodRawShape>;

/** A call to a provider of schema S: its own config fields typed. */
type CallOf<S extends ProviderSchema> = UpstreamCall<z.output<S> & ProviderSettings>;

export interface Provider<S extends ProviderSchema = ProviderSchema> {
  /** What `kind` names this provider in the config. */
  kind: z.output<S>['kind'];
  /** `providers.<name>` for this kind (docs/configuration.md). */
  config: S;
  supports(operation: Operation): boolean;
  /** The upstream request, from the call alone: no I/O. Throws a GatewayError for a call it cannot express. */
  buildRequest(call: CallOf<S>): UpstreamRequest;
  /**
   * Makes the call some other way than fetch: through a binding of the Worker's
   * env (Workers AI's `AI`), which the provider looks up by name as secrets are
   * (the env is untyped here so config checks run outside workerd). Non-2xx
   * answers are returned, not thrown.
   */
  send?(request: UpstreamRequest, call: CallOf<S>, env: object): Promise<Response>;
  /**
   * A 2xx JSON body in OpenAI's shape for the operation, usage included. Throws
   * (retryable) when it is not an answer: a 200 carrying an error, no `choices`.
   */
  parseResponse(call: CallOf<S>, json: unknown): JsonObject;
  /** A non-2xx answer (its body read up to a cap) as the caller's error, scrubbed, with whether to retry or fail over. */
  parseError(call: CallOf<S>, status: number, headers: Headers, body: string): GatewayError;
  /** A fresh translator for one streamed call. */
  streamTranslator(call: CallOf<S>): StreamTranslator;
  /** How callers reach this kind's own API through `/{provider name}/…` (src/passthrough/); absent: no passthrough (404). */
  passthrough?: Passthrough<z.output<S> & ProviderSettings>;
}

/**
 * Provider-native passthrough: what the gateway must know of a kind to forward a
 * caller's request to the provider's own API, unread. The rest (path safety, header
 * hygiene, limits, logging) is the same for every kind (src/passthrough/). Declared by
 * every kind with an HTTP API of its own (not demo). A kind without one answers 404,
 * and a key's `passthrough` list may not name it.
 */
export interface Passthrough<C extends ProviderSettings = ProviderSettings> {
  /**
   * The URL caller paths are appended to, without a trailing `/`: the operator's, from
   * the config (and its secrets, in `env`). A path never leaves it. Throws a
   * GatewayError when this provider's settings give it none.
   */
  root(config: C, env: object): string;
  /** Set on every forwarded request, replacing the caller's: the credential the way the provider expects it, the operator's static headers. */
  headers(config: C, credential: string | undefined): Record<string, string>;
  /** Sent only when the caller sent no header of that name (e.g. `anthropic-version`). */
  defaults?: Record<string, string>;
}

/** One fetch. Never follows a redirect: a 307 would re-send the credential and the prompt, a 302 turn into a GET (routing fails a 3xx). */
export function fetchUpstream(request: UpstreamRequest, call: UpstreamCall): Promise<Response> {
  return fetch(request.url, { method: request.method, headers: request.headers, body: request.body, signal: call.signal, redirect: 'manual' });
}
