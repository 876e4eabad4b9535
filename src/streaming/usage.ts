export interface TokenUsage {
  prompt: number;
  completion: number;
  /** Prompt tokens served from the provider's prompt cache (OpenAI's prompt_tokens_details). */
  cached: number | null;
}

/** OpenAI's `usage` object (chat, completions, embeddings), or undefined if absent or malformed. */
export function readUsage(usage: unknown): TokenUsage | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined;
  const { prompt_tokens, completion_tokens, prompt_tokens_details } = usage as {
    prompt_tokens?: unknown;
    completion_tokens?: unknown;
    prompt_tokens_details?: { cached_tokens?: unknown } | null;
  };
  if (typeof prompt_tokens !== 'number') return undefined;
  const cached = prompt_tokens_details?.cached_tokens;
  return {
    prompt: prompt_tokens,
    completion: typeof completion_tokens === 'number' ? completion_tokens : 0,
    cached: typeof cached === 'number' ? cached : null,
  };
}

/** Records usage on the call, for the log, the cost and the limiter's settlement. */
export function recordUsage(call: { promptTokens: number | null; completionTokens: number | null; cachedTokens: number | null }, usage: TokenUsage): void {
  call.promptTokens = usage.prompt;
  call.completionTokens = usage.completion;
  call.cachedTokens = usage.cached;
}
