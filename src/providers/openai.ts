import { z } from 'zod';
import { allowPrivateNetwork, checkUrls, httpUrl, providerFields } from '../config/provider-schema';
import { httpError } from './http-errors';
import { jsonRequest, OPENAI_PATHS, openAIAnswer, openAIRequestBody, openAIRequestFields, type OpenAIRequestSettings } from './openai-format';
import { openAIStream } from './openai-stream';
import type { Passthrough, Provider, UpstreamCall, UpstreamRequest } from './provider';
import { fixedUrl } from './upstream-url';

/**
 * OpenAI and every server that speaks its wire format (vLLM, Ollama, TGI, Groq,
 * Together, Mistral, DeepSeek, OpenRouter...). The body is forwarded as the caller
 * sent it, with only `model` replaced (openai-format.ts); the model id travels in
 * the body, never the URL: the path is ours alone.
 */

export const openAIFields = { ...providerFields, ...allowPrivateNetwork, ...openAIRequestFields };

const OpenAIConfig = z
  .strictObject({
    kind: z.literal('openai'),
    ...openAIFields,
    /** Root of the API; https://api.openai.com/v1 when absent. */
    base_url: httpUrl.optional(),
  })
  .superRefine(checkUrls(['base_url']));

const CompatibleConfig = z
  .strictObject({
    kind: z.literal('openai-compatible'),
    ...openAIFields,
    /** Root of the OpenAI-style API, e.g. https://api.groq.com/openai/v1. */
    base_url: z.url({
      protocol: /^https?$/,
      error: (issue) => (issue.input === undefined ? 'is required for kind "openai-compatible"' : undefined),
    }),
  })
  .superRefine(checkUrls(['base_url']));

type OpenAISettings = OpenAIRequestSettings & { base_url?: string | undefined };

/** The whole of an OpenAI-format provider but its config; Hugging Face's chat reuses it. */
export function openAIFormat(defaultBaseUrl?: string) {
  return {
    supports: () => true,
    buildRequest(call: UpstreamCall<OpenAISettings>): UpstreamRequest {
      const url = fixedUrl(call.target.config.base_url ?? defaultBaseUrl ?? '', OPENAI_PATHS[call.operation]);
      return jsonRequest(url, call, openAIRequestBody(call));
    },
    parseResponse: openAIAnswer,
    parseError: httpError,
    streamTranslator: openAIStream,
  };
}

/**
 * Passthrough for servers that take a bearer token. The root is the base URL without
 * a trailing `/v1`, so callers use the provider's documented paths: an SDK whose base
 * URL was `https://api.groq.com/openai/v1` works with `{gateway}/groq/v1`, and a
 * server's native routes beside its OpenAI API are reachable (Ollama's `/api/tags`).
 */
export function openAIPassthrough(defaultBaseUrl?: string): Passthrough<OpenAISettings> {
  return {
    root: (config) => (config.base_url ?? defaultBaseUrl ?? '').replace(/\/+$/, '').replace(/\/v1$/, ''),
    headers: (config, credential) => ({ ...config.headers, ...(credential ? { authorization: `Bearer ${credential}` } : {}) }),
  };
}

export const openai: Provider<typeof OpenAIConfig> = {
  kind: 'openai', config: OpenAIConfig, ...openAIFormat('https://api.openai.com/v1'), passthrough: openAIPassthrough('https://api.openai.com/v1'),
};

export const openaiCompatible: Provider<typeof CompatibleConfig> = {
  kind: 'openai-compatible', config: CompatibleConfig, ...openAIFormat(), passthrough: openAIPassthrough(),
};
