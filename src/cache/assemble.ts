import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';

/**
 * Rebuilds the non-stream answer from a stream's chunks (OpenAI's chunk format):
 * content and refusal deltas concatenated, tool calls gathered by index (id and
 * name from their first delta, arguments concatenated), finish reasons and usage
 * kept. The result is what the same request would have answered without `stream`.
 */

interface ToolCall {
  id?: string;
  type: string;
  name: string;
  arguments: string;
}

interface Choice {
  role: string;
  content: string | null;
  refusal: string | null;
  text: string;
  toolCalls: Map<number, ToolCall>;
  finish: string | null;
  logprobs: unknown;
}

export class StreamAssembler {
  private id: unknown;
  private created: unknown;
  private model: unknown;
  private fingerprint: unknown;
  private usage: unknown;
  private readonly choices = new Map<number, Choice>();

  constructor(private readonly endpoint: Operation) {}

  push(data: string): void {
    let chunk: JsonObject;
    try {
      chunk = JSON.parse(data) as JsonObject;
    } catch {
      return;
    }
    this.id ??= chunk.id;
    this.created ??= chunk.created;
    this.model ??= chunk.model;
    this.fingerprint ??= chunk.system_fingerprint;
    if (chunk.usage) this.usage = chunk.usage;
    for (const raw of (chunk.choices as JsonObject[] | undefined) ?? []) this.pushChoice(raw);
  }

  private pushChoice(raw: JsonObject): void {
    const index = typeof raw.index === 'number' ? raw.index : 0;
    let choice = this.choices.get(index);
    if (!choice) {
      choice = { role: 'assistant', content: null, refusal: null, text: '', toolCalls: new Map(), finish: null, logprobs: null };
      this.choices.set(index, choice);
    }
    if (typeof raw.finish_reason === 'string') choice.finish = raw.finish_reason;
    if (typeof raw.text === 'string') choice.text += raw.text;
    const delta = raw.delta as JsonObject | undefined;
    if (!delta) return;
    if (typeof delta.role === 'string') choice.role = delta.role;
    if (typeof delta.content === 'string') choice.content = (choice.content ?? '') + delta.content;
    if (typeof delta.refusal === 'string') choice.refusal = (choice.refusal ?? '') + delta.refusal;
    for (const call of (delta.tool_calls as JsonObject[] | undefined) ?? []) {
      const at = typeof call.index === 'number' ? call.index : 0;
      const fn = (call.function as { name?: string; arguments?: string } | undefined) ?? {};
      const known = choice.toolCalls.get(at) ?? { type: 'function', name: '', arguments: '' };
      if (typeof call.id === 'string') known.id = call.id;
      if (typeof call.type === 'string') known.type = call.type;
      if (fn.name) known.name += fn.name;
      if (fn.arguments) known.arguments += fn.arguments;
      choice.toolCalls.set(at, known);
    }
  }

  /** The assembled answer; undefined unless every choice has finished. */
  result(): JsonObject | undefined {
    const choices = [...this.choices.entries()].sort(([a], [b]) => a - b);
    if (choices.length === 0 || choices.some(([, c]) => c.finish === null)) return undefined;
    const base: JsonObject = { id: this.id, created: this.created, model: this.model };
    if (this.fingerprint !== undefined) base.system_fingerprint = this.fingerprint;
    if (this.endpoint === 'completions') {
      base.object = 'text_completion';
      base.choices = choices.map(([index, c]) => ({ text: c.text, index, logprobs: null, finish_reason: c.finish }));
    } else {
      base.object = 'chat.completion';
      base.choices = choices.map(([index, c]) => {
        const message: JsonObject = { role: c.role, content: c.content, refusal: c.refusal };
        if (c.toolCalls.size > 0) {
          message.tool_calls = [...c.toolCalls.entries()]
            .sort(([a], [b]) => a - b)
            .map(([, t]) => ({ id: t.id, type: t.type, function: { name: t.name, arguments: t.arguments } }));
        }
        return { index, message, logprobs: null, finish_reason: c.finish };
      });
    }
    if (this.usage) base.usage = this.usage;
    return base;
  }
}
