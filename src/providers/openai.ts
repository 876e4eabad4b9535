import type { SseEvent } from '../streaming/sse';
import { GatewayError } from '../errors';
import { OPENAI_PATHS, type Provider, type UpstreamCall } from './provider';
import { fixedUrl } from './upstream-url';
import type { JsonObject } from '../core/json';

/**
 * OpenAI and every server that speaks its wire format (vLLM, Ollama, TGI, Groq,
 * Together, Mistral, DeepSeek, OpenRouter, Hugging Face's router...). The body is
 * forwarded as the caller sent it, with only `model` replaced and, for streams,
 * usage requested so the call log always gets token counts.
 */

export function openAIRequestBody(call: UpstreamCall): JsonObject {
  const body: JsonObject = { ...call.body, model: call.target.model };
  if (call.stream && call.endpoint !== 'embeddings' && call.target.config.stream_usage) {
    const options = (call.body.stream_options as JsonObject | null | undefined) ?? {};
    body.stream_options = { ...options, include_usage: true };
  }
  return body;
}

export function postJson(url: string, call: UpstreamCall, body: unknown): Promise<Response> {
  const headers: Record<string, string> = {
    ...call.target.config.headers,
    'content-type': 'application/json',
    accept: call.stream ? 'text/event-stream' : 'application/json',
    'x-request-id': call.requestId,
  };
  if (call.credential) headers.authorization = `Bearer ${call.credential}`;
  // Never follow a redirect: a 307 would re-send the credential and the prompt, a 302 turn into a GET (routing fails a 3xx).
  return fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: call.signal, redirect: 'manual' });
}

export function expectObject(json: unknown): JsonObject {
  if (typeof json === 'object' && json !== null && !Array.isArray(json)) return json as JsonObject;
  throw new GatewayError('upstream_invalid_response', 'The upstream answered with an unexpected body', {
    retryable: true,
  });
}

export function openAICompatible(defaultBaseUrl: string | undefined): Provider {
  return {
    supports: () => true,
    send(call) {
      // The model id travels in the body, never the URL: the path is ours alone.
      return postJson(fixedUrl(call.target.config.base_url ?? defaultBaseUrl ?? '', OPENAI_PATHS[call.endpoint]), call, openAIRequestBody(call));
    },
    toOpenAI: (_call, json) => expectObject(json),
    fromStreamEvent: (_call, event: SseEvent) => event.data,
  };
}

export const openai = openAICompatible('https://api.openai.com/v1');
