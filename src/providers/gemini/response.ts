import type { JsonObject } from '../../core/json';
import { GatewayError } from '../../errors';
import { chatCompletion, type ChatAnswer, type ToolCall } from '../chat-shape';
import type { UpstreamCall } from '../provider';
import { asArray, finishReason, isObject, nativeUsage, partsOf, toolCallOf } from './wire';

/**
 * A GenerateContentResponse as a `chat.completion`: each candidate a choice (text
 * parts joined as content, thought parts as `reasoning_content`, function calls as
 * tool calls), usage from `usageMetadata`.
 *
 * A prompt Gemini blocks (`promptFeedback.blockReason`, no candidates) is answered,
 * not failed: one choice with no content and finish_reason `content_filter`, which
 * is how OpenAI reports filtered output and what clients already handle. Retrying or
 * failing over would send the same prompt to be blocked again.
 */
export function chatAnswer(call: UpstreamCall, json: unknown): JsonObject {
  const { provider } = call.target;
  if (!isObject(json) || 'error' in json) {
    throw new GatewayError('upstream_invalid_response', `Provider "${provider}" answered 200 with ${isObject(json) ? 'an error' : 'an unexpected body'} instead of an answer`, { retryable: true });
  }
  const id = `chatcmpl-${call.requestId}`;
  const usage = nativeUsage(json.usageMetadata);
  const candidates = asArray(json.candidates);
  if (candidates.length === 0) {
    if (isObject(json.promptFeedback) && json.promptFeedback.blockReason) {
      return chatCompletion(call, { id, content: null, toolCalls: [], finishReason: 'content_filter', usage });
    }
    throw new GatewayError('upstream_invalid_response', `Provider "${provider}" answered 200 with no candidates`, { retryable: true });
  }
  const answers = candidates.map((candidate): ChatAnswer => ({ id, usage, ...candidateAnswer(candidate) }));
  const completion = chatCompletion(call, answers[0]!);
  if (answers.length > 1) {
    completion.choices = answers.map((answer, index) => ({ ...(chatCompletion(call, answer).choices as JsonObject[])[0], index }));
  }
  return completion;
}

function candidateAnswer(candidate: unknown): Pick<ChatAnswer, 'content' | 'toolCalls' | 'finishReason' | 'reasoning'> {
  let content: string | null = null;
  let reasoning = '';
  const toolCalls: ToolCall[] = [];
  for (const part of partsOf(candidate)) {
    const toolCall = toolCallOf(part, toolCalls.length);
    if (toolCall) toolCalls.push(toolCall);
    else if (typeof part.text === 'string' && part.thought === true) reasoning += part.text;
    else if (typeof part.text === 'string') content = (content ?? '') + part.text;
  }
  const finish = finishReason(isObject(candidate) ? candidate.finishReason : undefined, toolCalls.length > 0);
  return reasoning ? { content, toolCalls, finishReason: finish, reasoning } : { content, toolCalls, finishReason: finish };
}
