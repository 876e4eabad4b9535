import { z } from 'zod';
import { allowPrivateNetwork, checkUrls, httpUrl, providerFields } from '../../config/provider-schema';
import type { JsonObject } from '../../core/json';
import { GatewayError } from '../../errors';
import type { Provider, UpstreamCall, UpstreamRequest } from '../provider';
import { fixedUrl, idUrl } from '../upstream-url';
import { embeddingAnswer, embeddingRequest } from './embeddings';
import { geminiError } from './errors';
import { chatRequest } from './request';
import { chatAnswer } from './response';
import { geminiStream } from './stream';
import { thinkingConfig, thinkingConfigFields } from './thinking';

/**
 * Google's Gemini API (the Generative Language API, https://ai.google.dev/api) in
 * its own wire format: OpenAI chat and embedding requests are translated
 * (request.ts, embeddings.ts), answers and streams translated back (response.ts,
 * stream.ts), Google's errors mapped (errors.ts). Legacy completions have no Gemini
 * method. The model id goes into the URL (`models/{model}:generateContent`),
 * percent-encoded and held under the base; the API key goes in the `x-goog-api-key`
 * header only, never in the URL (Gemini also accepts `?key=`, which would put the
 * credential in every log line that records a URL).
 */

const DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com/v1beta';
/** An API root ends in its version (`/v1beta`); Google's SDKs add the version themselves. */
const VERSION = /\/v\d+(?:alpha|beta)?$/;

const GeminiConfig = z
  .strictObject({
    kind: z.literal('gemini'),
    ...providerFields,
    ...allowPrivateNetwork,
    /** API root, up to and including the version. */
    base_url: httpUrl.optional(),
    /** Sent as `safetySettings` on every chat request (Gemini's own category and threshold names). */
    safety_settings: z.array(z.strictObject({ category: z.string().min(1), threshold: z.string().min(1) })).optional(),
    /** `reasoning_effort` as thinkingConfig, and thought summaries (thinking.ts). */
    ...thinkingConfigFields,
  })
  .superRefine(checkUrls(['base_url']));

function request(call: UpstreamCall, method: string, body: JsonObject, base: string | undefined): UpstreamRequest {
  // The model id may be the caller's (`gemini/<anything>`): encoded, and refused if it could leave `{base}/models/`.
  let url = idUrl(fixedUrl(base ?? DEFAULT_BASE_URL, '/models'), call.target.model, method);
  if (method === ':streamGenerateContent') url += '?alt=sse';
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: call.stream ? 'text/event-stream' : 'application/json',
    'x-request-id': call.requestId,
  };
  if (call.credential) headers['x-goog-api-key'] = call.credential;
  return { url, method: 'POST', headers, body: JSON.stringify(body) };
}

export const gemini: Provider<typeof GeminiConfig> = {
  kind: 'gemini',
  config: GeminiConfig,
  supports: (operation) => operation !== 'completions',

  buildRequest(call) {
    const { base_url, safety_settings } = call.target.config;
    if (call.operation === 'embeddings') {
      const { method, body } = embeddingRequest(call);
      return request(call, method, body, base_url);
    }
    if (call.operation !== 'chat.completions') {
      throw new GatewayError('unsupported_endpoint', `Provider "${call.target.provider}" does not serve ${call.operation}`, { param: 'model' });
    }
    const body = chatRequest(call.body, call.stream);
    if (safety_settings) body.safetySettings = safety_settings;
    const thinking = thinkingConfig(call.body, call.target.model, call.target.config);
    if (thinking) body.generationConfig = { ...(body.generationConfig as object | undefined), thinkingConfig: thinking };
    return request(call, call.stream ? ':streamGenerateContent' : ':generateContent', body, base_url);
  },

  parseResponse: (call, json) => (call.operation === 'embeddings' ? embeddingAnswer(call, json) : chatAnswer(call, json)),
  parseError: geminiError,
  streamTranslator: geminiStream,
  // `/{name}/v1beta/models/...` for apps on Google's SDKs. The key goes in its header, never the URL.
  passthrough: {
    root: (config) => (config.base_url ?? DEFAULT_BASE_URL).replace(/\/+$/, '').replace(VERSION, ''),
    headers: (_config, credential): Record<string, string> => (credential ? { 'x-goog-api-key': credential } : {}),
  },
};
