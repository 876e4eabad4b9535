import { z } from 'zod';
import { checkUrls, httpUrl } from '../config/provider-schema';
import { GatewayError } from '../errors';
import { embeddingList } from './embedding-format';
import { openAIFields, openAIFormat, openAIPassthrough } from './openai';
import { jsonRequest } from './openai-format';
import type { Provider, UpstreamCall } from './provider';
import { idUrl } from './upstream-url';
import type { JsonObject } from '../core/json';

/**
 * Hugging Face Inference Providers. Chat goes to the OpenAI-compatible router
 * (https://router.huggingface.co/v1). Embeddings go to the feature-extraction
 * pipeline (`POST {feature_extraction_url}/{model id}/pipeline/feature-extraction`
 * with `{"inputs": [...]}`), which answers bare float arrays; they are wrapped in
 * OpenAI's embedding list here. Legacy completions have no Hugging Face route.
 */

const ROUTER = 'https://router.huggingface.co/v1';
const FEATURE_EXTRACTION = 'https://router.huggingface.co/hf-inference/models';

const HuggingFaceConfig = z
  .strictObject({
    kind: z.literal('huggingface'),
    ...openAIFields,
    /** Root of the router's OpenAI-style API (chat). */
    base_url: httpUrl.optional(),
    /** Root of the feature-extraction pipeline (embeddings). */
    feature_extraction_url: httpUrl.optional(),
  })
  .superRefine(checkUrls(['base_url', 'feature_extraction_url']));

type Call = UpstreamCall<z.output<typeof HuggingFaceConfig>>;

const chat = openAIFormat(ROUTER);

function embeddingInputs(call: Call): string[] {
  const input = call.body.input;
  const inputs = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(inputs) || inputs.some((item) => typeof item !== 'string')) {
    throw new GatewayError('invalid_request', 'Hugging Face embeddings take text input, not token arrays', {
      param: 'input',
    });
  }
  if (call.body.dimensions !== undefined) {
    throw new GatewayError('invalid_request', 'Hugging Face feature extraction does not support `dimensions`', {
      param: 'dimensions',
    });
  }
  return inputs as string[];
}

/** Sentence models answer one vector per input; token-level models one per token, mean-pooled here. */
function toVector(value: unknown): number[] {
  if (Array.isArray(value) && value.every((x) => typeof x === 'number')) return value as number[];
  if (Array.isArray(value) && value.length > 0 && value.every(Array.isArray)) {
    const rows = value.map(toVector);
    const width = rows[0]!.length;
    const sum = new Array<number>(width).fill(0);
    for (const row of rows) for (let i = 0; i < width; i++) sum[i]! += row[i] ?? 0;
    return sum.map((x) => x / rows.length);
  }
  throw unexpectedShape();
}

function unexpectedShape(): GatewayError {
  return new GatewayError('upstream_invalid_response', 'Hugging Face answered with an unexpected embedding shape', {
    retryable: true,
  });
}

export const huggingface: Provider<typeof HuggingFaceConfig> = {
  kind: 'huggingface',
  config: HuggingFaceConfig,
  supports: (operation) => operation !== 'completions',

  buildRequest(call) {
    if (call.operation !== 'embeddings') return chat.buildRequest(call);
    // The model id may be the caller's (`hf/<anything>`): encoded, and refused if it could leave the base.
    const url = idUrl(call.target.config.feature_extraction_url ?? FEATURE_EXTRACTION, call.target.model, '/pipeline/feature-extraction');
    return jsonRequest(url, call, { inputs: embeddingInputs(call) });
  },

  parseResponse(call, json): JsonObject {
    if (call.operation !== 'embeddings') return chat.parseResponse(call, json);
    if (!Array.isArray(json)) throw unexpectedShape();
    const vectors = json.every((x) => typeof x === 'number') ? [json as number[]] : json.map(toVector);
    // Feature extraction reports no usage; the log keeps NULL rather than a guess.
    return embeddingList(vectors, call.target.model, call.body.encoding_format);
  },

  parseError: chat.parseError,
  streamTranslator: chat.streamTranslator,
  // The router's root: `/v1/chat/completions`, and the inference providers' own routes
  // (`/hf-inference/models/{id}/pipeline/feature-extraction`). Bearer token, like chat.
  passthrough: openAIPassthrough(ROUTER),
};
