export interface TokenUsage {
  prompt: number;
  completion: number;
}

/** OpenAI's `usage` object (chat, completions, embeddings), or undefined if absent or malformed. */
export function readUsage(usage: unknown): TokenUsage | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined;
  const { prompt_tokens, completion_tokens } = usage as { prompt_tokens?: unknown; completion_tokens?: unknown };
  if (typeof prompt_tokens !== 'number') return undefined;
  return { prompt: prompt_tokens, completion: typeof completion_tokens === 'number' ? completion_tokens : 0 };
}
