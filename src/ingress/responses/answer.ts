import type { JsonObject } from '../../core/json';
import {
  functionCallItem, messageItem, outcome, refusalPart, responseShell, responseUsage, textPart, type ResponseContext,
} from './response-object';

/**
 * A whole chat completion (an upstream's answer, or a cached one) as a Responses
 * `response`: the first choice's text and refusal as one message item, each of its
 * tool calls as a function_call item, its finish reason as the status.
 */

interface ChatMessage {
  content?: string | null;
  refusal?: string | null;
  tool_calls?: { id?: string; function?: { name?: string; arguments?: string } }[] | null;
}

interface ChatChoice {
  index?: number;
  message?: ChatMessage;
  finish_reason?: string | null;
}

export function responseFromChat(context: ResponseContext, completion: JsonObject): JsonObject {
  const choices = Array.isArray(completion.choices) ? (completion.choices as ChatChoice[]) : [];
  const choice = choices.find((c) => (c.index ?? 0) === 0) ?? choices[0];
  const { status, incomplete_details } = outcome(choice?.finish_reason);
  const message = choice?.message ?? {};
  const output: JsonObject[] = [];
  const content: JsonObject[] = [];
  if (typeof message.content === 'string' && message.content !== '') content.push(textPart(message.content));
  if (typeof message.refusal === 'string' && message.refusal !== '') content.push(refusalPart(message.refusal));
  if (content.length > 0) output.push(messageItem(context, 0, status, content));
  for (const call of message.tool_calls ?? []) {
    output.push(
      functionCallItem(context, output.length, status, {
        id: call.id ?? '',
        name: call.function?.name ?? '',
        arguments: call.function?.arguments ?? '',
      }),
    );
  }
  const model = typeof completion.model === 'string' ? completion.model : context.request.model;
  return {
    ...responseShell(context, model, status),
    incomplete_details,
    completed_at: status === 'completed' ? Math.floor(Date.now() / 1000) : null,
    output,
    usage: responseUsage(completion.usage),
  };
}
