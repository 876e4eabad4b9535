import type { JsonObject } from './json';

/**
 * A call's token counts, as every part of the gateway keeps them: read from an
 * OpenAI `usage` object (the internal answer shape), mapped onto by native
 * providers, written to the log and priced.
 */
export interface Usage {
  /** Every prompt token, cached or not (OpenAI's `prompt_tokens`). */
  prompt: number;
  completion: number;
  /** Prompt tokens read from the provider's prompt cache (`prompt_tokens_details.cached_tokens`). */
  cacheRead?: number | undefined;
  /** Prompt tokens written to the provider's prompt cache (`prompt_tokens_details.cache_write_tokens`, a gateway extension: Anthropic bills them above the input price). */
  cacheWrite?: number | undefined;
  /** Completion tokens spent reasoning (`completion_tokens_details.reasoning_tokens`). */
  reasoning?: number | undefined;
}

const count = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** OpenAI's `usage` object (chat, completions, embeddings), or undefined if absent or malformed. */
export function readUsage(usage: unknown): Usage | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined;
  const { prompt_tokens, completion_tokens, prompt_tokens_details, completion_tokens_details } = usage as {
    prompt_tokens?: unknown;
    completion_tokens?: unknown;
    prompt_tokens_details?: { cached_tokens?: unknown; cache_write_tokens?: unknown } | null;
    completion_tokens_details?: { reasoning_tokens?: unknown } | null;
  };
  if (typeof prompt_tokens !== 'number') return undefined;
  return {
    prompt: prompt_tokens,
    completion: count(completion_tokens) ?? 0,
    cacheRead: count(prompt_tokens_details?.cached_tokens),
    cacheWrite: count(prompt_tokens_details?.cache_write_tokens),
    reasoning: count(completion_tokens_details?.reasoning_tokens),
  };
}

/** The OpenAI `usage` object for counts. */
export function openAIUsage(usage: Usage): JsonObject {
  const out: JsonObject = { prompt_tokens: usage.prompt, completion_tokens: usage.completion, total_tokens: usage.prompt + usage.completion };
  if (usage.cacheRead !== undefined || usage.cacheWrite !== undefined) {
    const details: JsonObject = { cached_tokens: usage.cacheRead ?? 0 };
    if (usage.cacheWrite !== undefined) details.cache_write_tokens = usage.cacheWrite;
    out.prompt_tokens_details = details;
  }
  if (usage.reasoning !== undefined) out.completion_tokens_details = { reasoning_tokens: usage.reasoning };
  return out;
}
