import type { JsonObject } from '../../core/json';
import { GatewayError } from '../../errors';
import { embeddingList } from '../embedding-format';
import type { UpstreamCall } from '../provider';
import { refuse } from './request';
import { asArray, isObject } from './wire';

/**
 * Embeddings (https://ai.google.dev/api/embeddings): one input goes to `embedContent`,
 * several to `batchEmbedContents` (each request naming `models/{model}`, as the
 * batch method requires). `dimensions` is `outputDimensionality`. Gemini answers
 * plain floats and no usage; embedding-format.ts encodes base64 for the openai client.
 */

function textInputs(input: unknown): string[] {
  const inputs = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(inputs) || inputs.some((item) => typeof item !== 'string')) {
    throw refuse('input', 'Gemini embeds text, not token arrays');
  }
  return inputs as string[];
}

export function embeddingRequest(call: UpstreamCall): { method: string; body: JsonObject } {
  const inputs = textInputs(call.body.input);
  const dimensions = call.body.dimensions;
  const one = (text: string): JsonObject => {
    const request: JsonObject = { content: { parts: [{ text }] } };
    if (typeof dimensions === 'number') request.outputDimensionality = dimensions;
    return request;
  };
  if (inputs.length === 1) return { method: ':embedContent', body: one(inputs[0]!) };
  const model = `models/${call.target.model}`;
  return { method: ':batchEmbedContents', body: { requests: inputs.map((text) => ({ model, ...one(text) })) } };
}

export function embeddingAnswer(call: UpstreamCall, json: unknown): JsonObject {
  const found = isObject(json) ? (isObject(json.embedding) ? [json.embedding] : asArray(json.embeddings)) : [];
  const vectors = found.map((embedding) => (isObject(embedding) ? embedding.values : undefined));
  const expected = textInputs(call.body.input).length;
  if (vectors.length !== expected || !vectors.every((v) => Array.isArray(v) && v.every((x) => typeof x === 'number'))) {
    throw new GatewayError('upstream_invalid_response', `Provider "${call.target.provider}" answered without the ${expected} embedding(s) asked for`, { retryable: true });
  }
  return embeddingList(vectors as number[][], call.target.model, call.body.encoding_format);
}
