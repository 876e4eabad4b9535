import { z } from 'zod';
import { allowPrivateNetwork, checkUrls, httpUrl, providerFields, type ProviderSettings } from '../../config/provider-schema';
import { openAIRequestFields } from '../openai-format';
import type { UpstreamCall } from '../provider';
import { thinkingConfigFields } from './thinking';

/** `providers.<name>` of kind `anthropic` (docs/configuration.md). */
export const AnthropicConfig = z
  .strictObject({
    kind: z.literal('anthropic'),
    ...providerFields,
    ...allowPrivateNetwork,
    /** API root: requests go to `{base_url}/v1/messages`. */
    base_url: httpUrl.optional(),
    /** The `anthropic-version` header: the API version the translation is written for. */
    anthropic_version: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a version date, e.g. "2023-06-01"')
      .default('2023-06-01'),
    /** Anthropic requires `max_tokens`; this is sent when the caller sets neither max_tokens nor max_completion_tokens. */
    max_tokens: z.number().int().positive().max(1_000_000).default(4096),
    /** How `reasoning_effort` becomes Claude's thinking (thinking.ts). */
    ...thinkingConfigFields,
    /** Static headers sent upstream (e.g. `anthropic-beta`). Never caller-controlled. */
    headers: openAIRequestFields.headers,
  })
  .superRefine(checkUrls(['base_url']));

export type AnthropicCall = UpstreamCall<z.output<typeof AnthropicConfig> & ProviderSettings>;

export const DEFAULT_BASE_URL = 'https://api.anthropic.com';
