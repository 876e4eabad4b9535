import type { JsonObject } from '../../core/json';
import { GatewayError } from '../../errors';
import { readUsage } from '../../core/usage';

/**
 * An OpenAI chat answer as Anthropic's `message` object, and the two mappings the
 * stream shares (framer.ts): stop reasons and usage.
 */

/**
 * OpenAI's finish_reason as Anthropic's stop_reason. A `stop` that called tools is
 * `tool_use` (some servers say `stop` there), and so is the legacy `function_call`.
 * OpenAI does not say whether a stop sequence matched, so `stop_sequence` is never
 * reported: a stop is `end_turn`.
 */
export function stopReason(finish: unknown, calledTools: boolean): string {
  if (finish === 'length') return 'max_tokens';
  if (finish === 'content_filter') return 'refusal';
  if (calledTools || finish === 'tool_calls' || finish === 'function_call') return 'tool_use';
  return 'end_turn';
}

/**
 * OpenAI's usage as Anthropic's. Anthropic's input_tokens excludes prompt-cache
 * reads, which it counts apart; OpenAI's prompt_tokens includes them. No usage
 * (a provider that reports none) is zeros.
 */
export function anthropicUsage(usage: unknown): JsonObject {
  const read = readUsage(usage);
  const cached = read?.cacheRead ?? 0;
  return {
    input_tokens: Math.max(0, (read?.prompt ?? 0) - cached),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
    output_tokens: read?.completion ?? 0,
  };
}

/**
 * A tool call's arguments as the `input` object Anthropic's clients expect. The
 * model wrote JSON text; text that is not a JSON object is a broken answer, said as
 * one (502) rather than passed on as something the tool would misread. Empty
 * arguments are a tool called without any.
 */
export function toolInput(args: unknown): JsonObject {
  if (args === undefined || args === null || args === '') return {};
  let parsed: unknown;
  try {
    parsed = typeof args === 'string' ? JSON.parse(args) : args;
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as JsonObject;
  throw new GatewayError('upstream_invalid_response', 'The provider answered a tool call whose arguments are not a JSON object');
}

type Message = { content?: unknown; refusal?: unknown; tool_calls?: { id?: unknown; function?: { name?: unknown; arguments?: unknown } }[] };
type Choice = { message?: Message; finish_reason?: unknown };

/** Text content; some servers send a list of text parts instead of a string. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: { text?: unknown }) => (typeof part?.text === 'string' ? part.text : '')).join('');
}

/** The tool_use id for a call that came without one (rare open-model servers). */
export function toolUseId(messageId: string, index: number): string {
  return `toolu_${messageId.slice(4)}_${index}`;
}

export function anthropicMessage(json: JsonObject, messageId: string): JsonObject {
  const choice = ((json.choices as Choice[] | undefined) ?? [])[0] ?? {};
  const message = choice.message ?? {};
  const content: JsonObject[] = [];
  const text = textOf(message.content);
  if (text) content.push({ type: 'text', text });
  const refusal = typeof message.refusal === 'string' ? message.refusal : '';
  if (refusal) content.push({ type: 'text', text: refusal });
  const calls = message.tool_calls ?? [];
  calls.forEach((call, index) => {
    content.push({
      type: 'tool_use',
      id: typeof call.id === 'string' && call.id ? call.id : toolUseId(messageId, index),
      name: typeof call.function?.name === 'string' ? call.function.name : '',
      input: toolInput(call.function?.arguments),
    });
  });
  return {
    id: messageId,
    type: 'message',
    role: 'assistant',
    model: typeof json.model === 'string' ? json.model : '',
    content,
    stop_reason: refusal ? 'refusal' : stopReason(choice.finish_reason, calls.length > 0),
    stop_sequence: null,
    usage: anthropicUsage(json.usage),
  };
}
