import { httpError } from '../http-errors';
import type { Provider } from '../provider';
import { AnthropicConfig, DEFAULT_BASE_URL } from './config';
import { anthropicRequest } from './request';
import { anthropicAnswer } from './response';
import { anthropicStream } from './stream';

/**
 * Anthropic's Messages API (https://api.anthropic.com/v1/messages): OpenAI chat
 * requests translated to it (request.ts), its answers (response.ts) and streams
 * (stream.ts) translated back. Errors are `{"type":"error","error":{"type","message"}}`
 * with the usual statuses, 529 for "overloaded" (retried and failed over like a
 * 5xx): http-errors.ts reads them. Anthropic has no legacy completions or
 * embeddings, so routing answers those with 400 `unsupported_endpoint`.
 */
export const anthropic: Provider<typeof AnthropicConfig> = {
  kind: 'anthropic',
  config: AnthropicConfig,
  supports: (operation) => operation === 'chat.completions',
  buildRequest: anthropicRequest,
  parseResponse: anthropicAnswer,
  parseError: httpError,
  streamTranslator: anthropicStream,
  // `/{name}/v1/messages` for apps on Anthropic's SDKs: their requests unread, prompt caching and all.
  passthrough: {
    root: (config) => (config.base_url ?? DEFAULT_BASE_URL).replace(/\/+$/, ''),
    headers: (config, credential) => ({ ...config.headers, ...(credential ? { 'x-api-key': credential } : {}) }),
    defaults: { 'anthropic-version': '2023-06-01' },
  },
};
