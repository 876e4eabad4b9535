import { z } from 'zod';
import type { JsonObject } from '../../core/json';
import { GatewayError } from '../../errors';
import { chatCompletion, type FinishReason, type ToolCall } from '../chat-shape';
import type { Usage } from '../../core/usage';
import type { AnthropicCall } from './config';
import { wantsSchema } from './output-format';
import { type ThinkingBlock, withThinking } from './thinking-blocks';

/**
 * Anthropic's Message (API reference, "Messages": the response) as an OpenAI
 * `chat.completion`: text blocks joined into the content, `tool_use` blocks as
 * tool calls, thinking as `reasoning_content` (the signed blocks, redacted ones
 * too, ride on the first tool call's id: thinking-blocks.ts), the stop reason as a
 * finish reason, and usage with prompt-cache reads and writes counted in the prompt.
 * Under a JSON schema (structured outputs) the text is the JSON; a `refusal` stop
 * then puts what Claude said in `refusal` instead, content null, as OpenAI reports a
 * refusal to answer under a schema (that text need not follow the schema).
 * Anthropic's `output_tokens` already counts the thinking it bills (the full
 * thinking, not the summary it shows) but reports no count of its own for it, so
 * `reasoning_tokens` is not filled.
 */

export const UsageSchema = z.looseObject({
  input_tokens: z.number().optional(),
  output_tokens: z.number().optional(),
  cache_creation_input_tokens: z.number().nullish(),
  cache_read_input_tokens: z.number().nullish(),
});
export type AnthropicUsage = z.infer<typeof UsageSchema>;

const BlockSchema = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  thinking: z.string().optional(),
  signature: z.string().optional(),
  data: z.string().optional(),
  id: z.string().optional(),
  name: z.string().optional(),
  input: z.unknown().optional(),
});

const MessageSchema = z.looseObject({
  type: z.literal('message'),
  id: z.string(),
  model: z.string().optional(),
  content: z.array(BlockSchema),
  stop_reason: z.string().nullish(),
  usage: UsageSchema.optional(),
});

const FINISH: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  // A server tool's loop paused; the turn so far is a complete answer.
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/** Stop reasons Anthropic adds later read as a plain stop. */
export function finishReason(stopReason: string | null | undefined): FinishReason {
  return (stopReason && FINISH[stopReason]) || 'stop';
}

/**
 * Anthropic's `input_tokens` excludes the prompt tokens read from or written to
 * its prompt cache; OpenAI's `prompt_tokens` counts every prompt token, so all
 * three are added, and reads and writes are told apart in the details.
 */
export function nativeUsage(usage: AnthropicUsage): Usage {
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const cacheWrite = usage.cache_creation_input_tokens ?? 0;
  return { prompt: (usage.input_tokens ?? 0) + cacheRead + cacheWrite, completion: usage.output_tokens ?? 0, cacheRead, cacheWrite };
}

export function anthropicAnswer(call: AnthropicCall, json: unknown): JsonObject {
  const parsed = MessageSchema.safeParse(json);
  if (!parsed.success) {
    const said = (json as { type?: unknown } | null)?.type === 'error' ? 'an error' : 'no message';
    throw new GatewayError('upstream_invalid_response', `Provider "${call.target.provider}" answered 200 with ${said} instead of an answer`, { retryable: true });
  }
  const message = parsed.data;
  const texts: string[] = [];
  const thoughts: string[] = [];
  const signed: ThinkingBlock[] = [];
  const toolCalls: ToolCall[] = [];
  for (const block of message.content) {
    if (block.type === 'text' && block.text !== undefined) texts.push(block.text);
    else if (block.type === 'thinking') {
      if (block.thinking) thoughts.push(block.thinking);
      if (block.signature) signed.push({ type: 'thinking', thinking: block.thinking ?? '', signature: block.signature });
    } else if (block.type === 'redacted_thinking' && block.data) signed.push({ type: 'redacted_thinking', data: block.data });
    else if (block.type === 'tool_use' && block.id && block.name) {
      const id = toolCalls.length === 0 ? withThinking(block.id, signed) : block.id;
      toolCalls.push({ id, name: block.name, arguments: JSON.stringify(block.input ?? {}) });
    }
  }
  const text = texts.join('');
  const refusal = message.stop_reason === 'refusal' && text !== '' && wantsSchema(call.body);
  return chatCompletion(call, {
    id: message.id,
    content: refusal ? null : texts.length > 0 ? text : toolCalls.length > 0 ? null : '',
    ...(refusal ? { refusal: text } : {}),
    toolCalls,
    finishReason: finishReason(message.stop_reason),
    usage: message.usage ? nativeUsage(message.usage) : undefined,
    ...(message.model ? { model: message.model } : {}),
    ...(thoughts.length > 0 ? { reasoning: thoughts.join('') } : {}),
  });
}
