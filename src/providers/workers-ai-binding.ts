import type { JsonObject } from '../core/json';
import { GatewayError } from '../errors';
import type { SseEvent } from '../streaming/sse';
import { DONE, type StreamTranslator, type Translated } from '../streaming/translator';
import { ChunkWriter, chatCompletion, type FinishReason, type ToolCall } from './chat-shape';
import type { Usage } from '../core/usage';
import { embeddingList } from './embedding-format';
import { openAIAnswer } from './openai-format';
import type { UpstreamCall } from './provider';
import { scrub } from './scrub';

/**
 * Workers AI's native shapes, as the `AI` binding speaks them (`env.AI.run(model,
 * inputs, options)`; Workers AI docs, "Workers Bindings" and the models' schemas):
 * - text generation takes `{messages, stream, max_tokens, temperature, tools, ...}`
 *   and answers `{response, tool_calls?, usage?}` (legacy tool calls are
 *   `{name, arguments: object}`, newer ones OpenAI's `{id, type, function}`);
 *   streamed, it is SSE of `data: {"response":"…"}` events, newer models adding a
 *   last `{"response":"","usage":{…}}`, then `data: [DONE]`;
 * - text embeddings take `{text: string | string[]}` and answer `{shape, data}`
 *   (no usage: the log keeps NULL rather than a guess).
 * Some newer models answer in OpenAI's own shapes (`choices`, chunks); those pass
 * through as they are.
 */

/** Chat fields Workers AI text generation takes under the same name. */
const CHAT_FIELDS = ['temperature', 'top_p', 'top_k', 'seed', 'frequency_penalty', 'presence_penalty', 'repetition_penalty'];

function refused(param: string, why: string): GatewayError {
  return new GatewayError('invalid_request', `Workers AI (binding) ${why}`, { param });
}

/** OpenAI's content parts (text only) as the one string Workers AI messages carry. */
function textContent(content: unknown, index: number): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content) && content.every((part) => typeof part?.text === 'string')) {
    return content.map((part) => (part as { text: string }).text).join('\n');
  }
  throw refused(`messages[${index}].content`, 'takes text content only');
}

/** The `inputs` of one `run()` for an OpenAI-shaped call. */
export function bindingInputs(call: UpstreamCall): JsonObject {
  const { body } = call;
  if (call.operation === 'embeddings') {
    const text = body.input;
    if (!(typeof text === 'string' || (Array.isArray(text) && text.every((item) => typeof item === 'string')))) {
      throw refused('input', 'embeddings take text input, not token arrays');
    }
    if (body.dimensions !== undefined) throw refused('dimensions', 'embeddings do not support `dimensions`');
    return { text };
  }
  if (typeof body.n === 'number' && body.n > 1) throw refused('n', 'answers one choice only');
  const messages = Array.isArray(body.messages) ? (body.messages as JsonObject[]) : [];
  const inputs: JsonObject = {
    messages: messages.map((message, index) => ({ ...message, content: textContent(message?.content, index) })),
  };
  for (const field of CHAT_FIELDS) if (body[field] !== undefined && body[field] !== null) inputs[field] = body[field];
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (typeof maxTokens === 'number') inputs.max_tokens = maxTokens;
  if (Array.isArray(body.tools) && body.tools.length > 0 && body.tool_choice !== 'none') inputs.tools = body.tools;
  const format = body.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | undefined;
  // Workers AI's json_schema holds the schema itself, OpenAI's wraps it in {name, schema}.
  if (format?.type === 'json_object') inputs.response_format = { type: 'json_object' };
  if (format?.type === 'json_schema') inputs.response_format = { type: 'json_schema', json_schema: format.json_schema?.schema ?? {} };
  if (call.stream) inputs.stream = true;
  return inputs;
}

function unexpected(call: UpstreamCall): GatewayError {
  return new GatewayError('upstream_invalid_response', `Provider "${call.target.provider}" (Workers AI) answered with an unexpected shape`, { retryable: true });
}

function usageOf(value: unknown): Usage | undefined {
  const usage = value as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
  if (typeof usage?.prompt_tokens !== 'number') return undefined;
  return { prompt: usage.prompt_tokens, completion: typeof usage.completion_tokens === 'number' ? usage.completion_tokens : 0 };
}

/** Legacy `{name, arguments: {...}}` or OpenAI's `{id, type, function: {name, arguments: "..."}}`. */
function toolCallOf(value: unknown, index: number, call: UpstreamCall): ToolCall | undefined {
  const tool = value as { id?: unknown; name?: unknown; arguments?: unknown; function?: { name?: unknown; arguments?: unknown } };
  const name = tool?.function?.name ?? tool?.name;
  if (typeof name !== 'string') return undefined;
  const args = tool.function ? tool.function.arguments : tool.arguments;
  const id = typeof tool.id === 'string' && tool.id ? tool.id : `call_${call.requestId}_${index}`;
  return { id, name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) };
}

function toolCallsOf(value: unknown, call: UpstreamCall, offset = 0): ToolCall[] {
  if (!Array.isArray(value)) return [];
  return value.map((tool, i) => toolCallOf(tool, offset + i, call)).filter((tool): tool is ToolCall => tool !== undefined);
}

/** `response` is text, or (JSON mode on some models) the parsed object itself. */
function responseText(response: unknown): string {
  if (typeof response === 'string') return response;
  if (response === undefined || response === null) return '';
  return JSON.stringify(response);
}

/** Workers AI reports no stop reason: a completion that used all of max_tokens was cut short. */
function finishReason(call: UpstreamCall, tools: number, usage: Usage | undefined): FinishReason {
  if (tools > 0) return 'tool_calls';
  const limit = call.body.max_completion_tokens ?? call.body.max_tokens;
  return typeof limit === 'number' && usage !== undefined && usage.completion >= limit ? 'length' : 'stop';
}

export function bindingAnswer(call: UpstreamCall, output: unknown): JsonObject {
  if (typeof output === 'object' && output !== null && ('choices' in output || 'object' in output)) return openAIAnswer(call, output);
  if (call.operation === 'embeddings') {
    const data = (output as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || !data.every((row) => Array.isArray(row))) throw unexpected(call);
    return embeddingList(data as number[][], call.target.model, call.body.encoding_format);
  }
  if (typeof output === 'string') {
    return chatCompletion(call, { id: `chatcmpl-${call.requestId}`, content: output, toolCalls: [], finishReason: 'stop', usage: undefined });
  }
  if (typeof output !== 'object' || output === null || !('response' in output || 'tool_calls' in output)) throw unexpected(call);
  const answer = output as { response?: unknown; tool_calls?: unknown; usage?: unknown };
  const toolCalls = toolCallsOf(answer.tool_calls, call);
  const usage = usageOf(answer.usage);
  const text = responseText(answer.response);
  return chatCompletion(call, {
    id: `chatcmpl-${call.requestId}`,
    content: text === '' && toolCalls.length > 0 ? null : text,
    toolCalls,
    finishReason: finishReason(call, toolCalls.length, usage),
    usage,
  });
}

/**
 * The binding's SSE as OpenAI chat chunks. Every event is parsed: unlike an
 * OpenAI-format stream, none of them is already the chunk the client wants.
 * The finish chunk (and the usage chunk, when the model reported usage) go out
 * when `[DONE]` arrives; a stream that closes without it was cut.
 */
export function bindingStream(call: UpstreamCall): StreamTranslator {
  const writer = new ChunkWriter(call);
  let started = false;
  let tools = 0;
  let usage: Usage | undefined;
  let native = true;
  return {
    push(event: SseEvent): Translated {
      if (event.data === DONE) {
        if (!native) return DONE;
        const last = [writer.finish(finishReason(call, tools, usage))];
        if (usage) last.push(writer.usage(usage));
        last.push(DONE);
        started = true;
        return last;
      }
      let chunk: JsonObject;
      try {
        chunk = JSON.parse(event.data) as JsonObject;
      } catch {
        return event.data; // Not JSON: the relay (or the attempt, before any chunk) refuses it.
      }
      if (typeof chunk !== 'object' || chunk === null) return event.data;
      if (chunk.error !== undefined && chunk.error !== null) return failure(call, chunk.error, started);
      if (Array.isArray(chunk.choices)) {
        // An OpenAI-format model: its chunks are already the client's.
        native = false;
        started = true;
        return event.data;
      }
      const out: string[] = [];
      const text = responseText(chunk.response);
      if (text) out.push(writer.content(text));
      for (const tool of toolCallsOf(chunk.tool_calls, call, tools)) {
        out.push(writer.toolCallStart(tools, tool.id, tool.name), writer.toolCallArguments(tools, tool.arguments));
        tools++;
      }
      usage = usageOf(chunk.usage) ?? usage;
      if (out.length === 0) return null;
      started = true;
      return out;
    },
    end: () => null,
  };
}

function failure(call: UpstreamCall, error: unknown, started: boolean): GatewayError {
  const said = typeof error === 'string' ? error : (error as { message?: unknown }).message;
  const message = typeof said === 'string' ? scrub(said).slice(0, 200) : '';
  const { provider } = call.target;
  if (!started) {
    return new GatewayError('upstream_failed', `Provider "${provider}" sent an error before any data${message ? `: ${message}` : ''}`, { retryable: true });
  }
  return new GatewayError('stream_cut', `Provider "${provider}" failed mid-stream${message ? `: ${message}` : ''}`);
}
