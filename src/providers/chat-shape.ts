import type { JsonObject } from '../core/json';
import { openAIUsage, type Usage } from '../core/usage';
import type { UpstreamCall } from './provider';

/**
 * OpenAI's chat answer shape, built for providers whose native format is not
 * OpenAI's (Anthropic, Gemini, Workers AI...): one place that knows the fields of a
 * `chat.completion`, a `chat.completion.chunk` and `usage`, so each native provider
 * maps only its own concepts (stop reasons, content blocks, usage names) onto them.
 */

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text, exactly as the model produced it. */
  arguments: string;
}

/** Seconds, as OpenAI's `created`. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export interface ChatAnswer {
  id: string;
  content: string | null;
  /** What the model said instead of an answer it declined to give (OpenAI's structured-outputs refusal). */
  refusal?: string;
  toolCalls: readonly ToolCall[];
  finishReason: FinishReason;
  usage: Usage | undefined;
  /** Defaults to the target's model id. */
  model?: string;
  /** Reasoning text some providers return beside the answer (not part of OpenAI's schema; kept for clients that read it). */
  reasoning?: string;
}

/** A non-streamed `chat.completion` with one choice. */
export function chatCompletion(call: UpstreamCall, answer: ChatAnswer): JsonObject {
  const message: JsonObject = { role: 'assistant', content: answer.content, refusal: answer.refusal ?? null };
  if (answer.reasoning) message.reasoning_content = answer.reasoning;
  if (answer.toolCalls.length > 0) {
    message.tool_calls = answer.toolCalls.map((tool) => ({ id: tool.id, type: 'function', function: { name: tool.name, arguments: tool.arguments } }));
  }
  const completion: JsonObject = {
    id: answer.id,
    object: 'chat.completion',
    created: nowSeconds(),
    model: answer.model ?? call.target.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: answer.finishReason }],
  };
  if (answer.usage) completion.usage = openAIUsage(answer.usage);
  return completion;
}

/**
 * Writes one streamed call's `chat.completion.chunk`s as JSON text (what a stream
 * translator returns): the same id, created and model on every chunk, the role on
 * the first delta only, and the usage-only chunk (empty `choices`) OpenAI sends
 * last when `stream_options.include_usage` is set. The relay drops that chunk
 * again for a client that did not ask for usage.
 */
export class ChunkWriter {
  private id: string;
  private model: string;
  private readonly created = nowSeconds();
  private roleSent = false;

  constructor(call: UpstreamCall, id = `chatcmpl-${call.requestId}`) {
    this.id = id;
    this.model = call.target.model;
  }

  /** The provider told its own message id or model after the writer was made (Anthropic's message_start). */
  identify(id: string | undefined, model?: string): void {
    if (id) this.id = id;
    if (model) this.model = model;
  }

  private chunk(delta: JsonObject, finish: FinishReason | null = null): string {
    if (!this.roleSent) {
      this.roleSent = true;
      delta = { role: 'assistant', ...delta };
    }
    return JSON.stringify({
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
  }

  /** The first chunk: the assistant's role and empty content, as OpenAI opens a stream. */
  role(): string {
    return this.chunk({ content: '' });
  }

  content(text: string): string {
    return this.chunk({ content: text });
  }

  reasoning(text: string): string {
    return this.chunk({ reasoning_content: text });
  }

  /** A tool call's opening delta: its index among this answer's calls, id and name, no arguments yet. */
  toolCallStart(index: number, id: string, name: string): string {
    return this.chunk({ tool_calls: [{ index, id, type: 'function', function: { name, arguments: '' } }] });
  }

  toolCallArguments(index: number, text: string): string {
    return this.chunk({ tool_calls: [{ index, function: { arguments: text } }] });
  }

  finish(reason: FinishReason): string {
    return this.chunk({}, reason);
  }

  usage(usage: Usage): string {
    return JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: openAIUsage(usage) });
  }
}
