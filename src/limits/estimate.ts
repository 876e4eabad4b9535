import type { LimitsSettings } from '../config/limits-schema';
import type { JsonObject } from '../http/body';
import type { Endpoint } from '../providers/provider';

/**
 * Tokens to reserve before a call. The completion part is exact (max_tokens × n
 * bounds what a provider may generate), or `default_max_tokens` when the caller set
 * none. The prompt part counts UTF-8 bytes of the text sent: every tokenizer in use
 * emits at least one byte per token, so with `prompt_bytes_per_token = 1` it is an
 * upper bound; images are counted at a fixed, generous rate.
 */

const PER_MESSAGE = 8;
const PER_IMAGE = 2000;
const encoder = new TextEncoder();

function bytes(value: unknown): number {
  if (typeof value === 'string') return encoder.encode(value).byteLength;
  if (value === undefined || value === null) return 0;
  return encoder.encode(JSON.stringify(value)).byteLength;
}

function contentBytes(content: unknown): { bytes: number; images: number } {
  if (!Array.isArray(content)) return { bytes: bytes(content), images: 0 };
  let total = 0;
  let images = 0;
  for (const part of content as { type?: unknown; text?: unknown }[]) {
    if (part?.type === 'text') total += bytes(part.text);
    else if (part?.type === 'image_url' || part?.type === 'input_image') images++;
    else total += bytes(part);
  }
  return { bytes: total, images };
}

export interface Estimate {
  prompt: number;
  completion: number;
}

export function estimateTokens(endpoint: Endpoint, body: JsonObject, settings: LimitsSettings): Estimate {
  let promptBytes = 0;
  let overhead = 0;
  if (endpoint === 'chat.completions') {
    for (const message of (body.messages as { content?: unknown; tool_calls?: unknown }[]) ?? []) {
      const { bytes: b, images } = contentBytes(message.content);
      promptBytes += b + bytes(message.tool_calls);
      overhead += PER_MESSAGE + images * PER_IMAGE;
    }
    promptBytes += bytes(body.tools) + bytes(body.response_format);
  } else if (endpoint === 'completions') {
    promptBytes = bytes(body.prompt);
  } else {
    promptBytes = bytes(body.input);
  }
  const prompt = Math.ceil(promptBytes / settings.prompt_bytes_per_token) + overhead;
  if (endpoint === 'embeddings') return { prompt, completion: 0 };

  const max = (body.max_completion_tokens ?? body.max_tokens) as number | null | undefined;
  const n = typeof body.n === 'number' ? body.n : 1;
  return { prompt, completion: (max ?? settings.default_max_tokens) * n };
}
