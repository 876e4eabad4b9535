import type { Usage } from '../core/usage';
import type { CallRecord } from '../logging/call-record';

type UsageFields = Pick<CallRecord, 'promptTokens' | 'completionTokens' | 'cachedTokens' | 'cacheWriteTokens' | 'usageSource'>;

/** Records the provider's usage on the call, for the log, the cost and the limiter's settlement. */
export function recordUsage(record: UsageFields, usage: Usage): void {
  record.promptTokens = usage.prompt;
  record.completionTokens = usage.completion;
  record.cachedTokens = usage.cacheRead ?? null;
  record.cacheWriteTokens = usage.cacheWrite ?? null;
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
