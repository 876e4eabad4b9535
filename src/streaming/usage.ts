import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
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

/**
 * The gateway's count of a whole answer the provider reported no usage for (Gemini
 * and Workers AI embeddings, OpenAI-compatible servers that leave `usage` out), on
 * the same terms as countStreamed: the prompt at the limiter's estimate, the
 * completion at four bytes a token of the text it holds (none for embeddings).
 * Without it, such a call would settle at nothing: free under any token limit or budget.
 */
export function countAnswer(record: UsageFields, operation: Operation, answer: JsonObject | undefined, estimatePrompt: () => number): void {
  if (record.usageSource === 'provider') return;
  record.promptTokens = estimatePrompt();
  record.completionTokens = operation === 'embeddings' ? 0 : Math.ceil(answerTextBytes(answer) / 4);
  record.cachedTokens = null;
  record.cacheWriteTokens = null;
  record.usageSource = 'gateway';
}

function answerTextBytes(answer: JsonObject | undefined): number {
  const encoder = new TextEncoder();
  const bytes = (value: unknown) => (typeof value === 'string' ? encoder.encode(value).byteLength : 0);
  let total = 0;
  for (const choice of Array.isArray(answer?.choices) ? (answer.choices as JsonObject[]) : []) {
    total += bytes(choice.text);
    const message = choice.message as JsonObject | undefined;
    if (!message) continue;
    total += bytes(message.content) + bytes(message.refusal);
    for (const call of Array.isArray(message.tool_calls) ? (message.tool_calls as JsonObject[]) : []) {
      total += bytes((call.function as JsonObject | undefined)?.name) + bytes((call.function as JsonObject | undefined)?.arguments);
    }
  }
  return total;
}
