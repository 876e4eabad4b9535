import { z } from 'zod';
import type { ProviderSettings } from '../config/provider-schema';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
import { GatewayError } from '../errors';
import type { UpstreamCall, UpstreamRequest } from './provider';

/**
 * OpenAI's wire format, for every provider that speaks it or plays it (openai,
 * openai-compatible, Hugging Face's router, the demo): the request as the caller
 * sent it with only `model` replaced (and, for streams, usage requested so the call
 * log always gets token counts), and the least a 200 must carry to be an answer.
 */

export const OPENAI_PATHS: Record<Operation, string> = {
  'chat.completions': '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};

/** Config fields that shape an OpenAI-format request. */
export const openAIRequestFields = {
  /** Static headers sent upstream (e.g. OpenAI-Organization). Never caller-controlled. */
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string()).default({}),
  /** Ask streamed calls for usage (`stream_options.include_usage`). Off for servers that reject it. */
  stream_usage: z.boolean().default(true),
};
const OpenAIRequestOptions = z.object(openAIRequestFields);
export type OpenAIRequestSettings = ProviderSettings & z.output<typeof OpenAIRequestOptions>;

export function openAIRequestBody(call: UpstreamCall<OpenAIRequestSettings>): JsonObject {
  const body: JsonObject = { ...call.body, model: call.target.model };
  if (call.stream && call.operation !== 'embeddings' && call.target.config.stream_usage) {
    const options = (call.body.stream_options as JsonObject | null | undefined) ?? {};
    body.stream_options = { ...options, include_usage: true };
  }
  return body;
}

/** A JSON POST with the provider's static headers and its credential as a bearer token. */
export function jsonRequest(url: string, call: UpstreamCall<OpenAIRequestSettings>, body: unknown): UpstreamRequest {
  const headers: Record<string, string> = {
    ...call.target.config.headers,
    'content-type': 'application/json',
    accept: call.stream ? 'text/event-stream' : 'application/json',
    'x-request-id': call.requestId,
  };
  if (call.credential) headers.authorization = `Bearer ${call.credential}`;
  return { url, method: 'POST', headers, body: JSON.stringify(body) };
}

/**
 * The least a 200 must carry to be an answer: an object with `choices` for
 * (chat) completions, `data` for embeddings. Anything else (a `{"error":…}` sent
 * with 200, an empty object) is a failed attempt that can be retried elsewhere,
 * not a success to relay and log.
 */
export function openAIAnswer(call: UpstreamCall, json: unknown): JsonObject {
  const { provider } = call.target;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new GatewayError('upstream_invalid_response', `Provider "${provider}" answered with an unexpected body`, { retryable: true });
  }
  const answer = json as JsonObject;
  const list = call.operation === 'embeddings' ? answer.data : answer.choices;
  if (Array.isArray(list)) return answer;
  const what = call.operation === 'embeddings' ? '`data`' : '`choices`';
  const said = 'error' in answer ? 'an error' : `no ${what}`;
  throw new GatewayError('upstream_invalid_response', `Provider "${provider}" answered 200 with ${said} instead of an answer`, { retryable: true });
}
