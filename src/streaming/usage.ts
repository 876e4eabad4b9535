import type { CallRecord } from '../logging/call-record';

export interface TokenUsage {
  prompt: number;
  completion: number;
  /** Prompt tokens served from the provider's prompt cache (OpenAI's prompt_tokens_details). */
  cached: number | null;
  /** Prompt tokens written to the provider's prompt cache (`cache_write_tokens`: Anthropic bills them above the input price). */
  cacheWrite: number | null;
}

/** OpenAI's `usage` object (chat, completions, embeddings), or undefined if absent or malformed. */
export function readUsage(usage: unknown): TokenUsage | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined;
  const { prompt_tokens, completion_tokens, prompt_tokens_details } = usage as {
    prompt_tokens?: unknown;
    completion_tokens?: unknown;
    prompt_tokens_details?: { cached_tokens?: unknown; cache_write_tokens?: unknown } | null;
  };
  if (typeof prompt_tokens !== 'number') return undefined;
  const cached = prompt_tokens_details?.cached_tokens;
  const cacheWrite = prompt_tokens_details?.cache_write_tokens;
  return {
    prompt: prompt_tokens,
    completion: typeof completion_tokens === 'number' ? completion_tokens : 0,
    cached: typeof cached === 'number' ? cached : null,
    cacheWrite: typeof cacheWrite === 'number' ? cacheWrite : null,
  };
}

type UsageFields = Pick<CallRecord, 'promptTokens' | 'completionTokens' | 'cachedTokens' | 'cacheWriteTokens' | 'usageSource'>;

/** Records the provider's usage on the call, for the log, the cost and the limiter's settlement. */
export function recordUsage(record: UsageFields, usage: TokenUsage): void {
  record.promptTokens = usage.prompt;
  record.completionTokens = usage.completion;
  record.cachedTokens = usage.cached;
  record.cacheWriteTokens = usage.cacheWrite;
  record.usageSource = 'provider';
}

/** What a stream delivered of generated text, for the gateway's own count. */
export interface Streamed {
  /** UTF-8 bytes of generated text (scan.ts). */
  bytes: number;
  /** Events that carried any. */
  events: number;
}

/**
 * The gateway's count of a stream the provider reported no usage for: the client
 * left before the usage chunk, the stream was cut, or the provider sends none
 * (`stream_usage = false`). Settlement charges what the record says, so without
 * this such a call would be charged nothing.
 *
 * Completion: the larger of ceil(bytes / 4) and the number of events with text.
 * Four bytes a token is the usual average for English; servers stream about one
 * token an event, which bounds text that tokenizes densely (code, non-Latin
 * scripts). Prompt: the limiter's own reservation estimate (limits/estimate.ts),
 * an upper bound of what providers bill. Marked `usage_source = 'gateway'`.
 */
export function countStreamed(record: UsageFields, streamed: Streamed, estimatePrompt: () => number): void {
  if (record.usageSource === 'provider') return;
  record.promptTokens = estimatePrompt();
  record.completionTokens = Math.max(streamed.events, Math.ceil(streamed.bytes / 4));
  record.cachedTokens = null;
  record.cacheWriteTokens = null;
  record.usageSource = 'gateway';
}
