import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';

/**
 * The text guardrails read in the internal (OpenAI) shapes, and copies with that
 * text replaced. Copy on write: what nothing changed is the same object, so the
 * caller's body stays as received when no guardrail rewrites it.
 *
 * Request: chat message content (strings and text parts, every role), tool-call
 * arguments, tool results (tool messages' content); completion prompts;
 * embedding inputs. Answer: message content, refusal and tool-call arguments;
 * completion text.
 */

/** `role` is the message's (undefined outside chat): injection screening reads only what callers and tools wrote. */
export type TextMap = (text: string, role: string | undefined) => string;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Maps an array, returning the same array when no element changed. */
function mapArray<T>(items: readonly T[], fn: (item: T) => T): T[] {
  let out: T[] | undefined;
  items.forEach((item, i) => {
    const next = fn(item);
    if (next !== item) (out ??= items.slice())[i] = next;
  });
  return out ?? (items as T[]);
}

function withField<T extends Obj>(obj: T, field: string, value: unknown): T {
  return value === obj[field] ? obj : { ...obj, [field]: value };
}

/** Content as a string or parts: text parts mapped. */
function mapContent(content: unknown, fn: (text: string) => string): unknown {
  if (typeof content === 'string') return fn(content);
  if (!Array.isArray(content)) return content;
  return mapArray(content as unknown[], (part) => (isObj(part) && part.type === 'text' && typeof part.text === 'string' ? withField(part, 'text', fn(part.text)) : part));
}

function mapToolCalls(calls: unknown, fn: (text: string) => string): unknown {
  if (!Array.isArray(calls)) return calls;
  return mapArray(calls as unknown[], (call) => {
    if (!isObj(call) || !isObj(call.function) || typeof call.function.arguments !== 'string') return call;
    return withField(call, 'function', withField(call.function, 'arguments', fn(call.function.arguments)));
  });
}

function mapStrings(value: unknown, fn: (text: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  return Array.isArray(value) ? mapArray(value as unknown[], (v) => (typeof v === 'string' ? fn(v) : v)) : value;
}

export function mapRequestTexts(operation: Operation, body: JsonObject, fn: TextMap): JsonObject {
  if (operation === 'completions') return withField(body, 'prompt', mapStrings(body.prompt, (t) => fn(t, undefined)));
  if (operation === 'embeddings') return withField(body, 'input', mapStrings(body.input, (t) => fn(t, undefined)));
  if (!Array.isArray(body.messages)) return body;
  const messages = mapArray(body.messages as unknown[], (message) => {
    if (!isObj(message)) return message;
    const role = typeof message.role === 'string' ? message.role : undefined;
    const text = (t: string) => fn(t, role);
    let out = withField(message, 'content', mapContent(message.content, text));
    out = withField(out, 'tool_calls', mapToolCalls(message.tool_calls, text));
    return out;
  });
  return withField(body, 'messages', messages);
}

export function mapAnswerTexts(operation: Operation, answer: JsonObject, fn: (text: string) => string): JsonObject {
  if (!Array.isArray(answer.choices)) return answer;
  const choices = mapArray(answer.choices as unknown[], (choice) => {
    if (!isObj(choice)) return choice;
    if (operation === 'completions') return typeof choice.text === 'string' ? withField(choice, 'text', fn(choice.text)) : choice;
    if (!isObj(choice.message)) return choice;
    let message = withField(choice.message, 'content', mapContent(choice.message.content, fn));
    if (typeof message.refusal === 'string') message = withField(message, 'refusal', fn(message.refusal));
    message = withField(message, 'tool_calls', mapToolCalls(message.tool_calls, fn));
    return withField(choice, 'message', message);
  });
  return withField(answer, 'choices', choices);
}
