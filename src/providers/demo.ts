import { z } from 'zod';
import { providerFields } from '../config/provider-schema';
import type { JsonObject } from '../core/json';
import { answerStream } from '../streaming/answer-stream';
import { embeddingList } from './embedding-format';
import { httpError } from './http-errors';
import { jsonRequest, OPENAI_PATHS, openAIAnswer, openAIRequestBody, openAIRequestFields } from './openai-format';
import { openAIStream } from './openai-stream';
import type { Provider, UpstreamCall } from './provider';

/**
 * An offline, deterministic model so the gateway answers its first call with no
 * provider account. It plays an OpenAI server in-process: `send` answers the
 * very request an OpenAI provider would make with the Response OpenAI would send
 * (JSON, or SSE chunk by chunk with usage: streaming/answer-stream.ts), so the rest
 * of the gateway treats it like any upstream. Same request in, same answer out.
 */

const DemoConfig = z.strictObject({ kind: z.literal('demo'), ...providerFields, ...openAIRequestFields });

const CREATED = 1_700_000_000;

function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (typeof part?.text === 'string' ? (part.text as string) : ''))
      .filter(Boolean)
      .join(' ');
  }
  return '';
}

type Message = { role?: unknown; content?: unknown };

function promptTokens(body: JsonObject): number {
  if (Array.isArray(body.messages)) {
    return (body.messages as Message[]).reduce((n, m) => n + 1 + words(textOf(m.content)).length, 0);
  }
  const prompt = Array.isArray(body.prompt) ? body.prompt.join(' ') : String(body.prompt ?? '');
  return words(prompt).length;
}

function lastUserText(body: JsonObject): string {
  const messages = (body.messages ?? []) as Message[];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return textOf(last?.content).trim();
}

interface Reply {
  content: string | null;
  toolCall?: { id: string; name: string; arguments: string };
  finish: 'stop' | 'tool_calls';
}

function chatReply(body: JsonObject): Reply {
  const said = lastUserText(body);
  const tools = Array.isArray(body.tools) ? (body.tools as { function?: { name?: string } }[]) : [];
  const choice = body.tool_choice as { function?: { name?: string } } | string | undefined;
  if (tools.length > 0 && choice !== 'none') {
    const name = (typeof choice === 'object' && choice.function?.name) || tools[0]?.function?.name || 'tool';
    return { content: null, toolCall: { id: 'call_demo_0', name, arguments: JSON.stringify({ input: said }) }, finish: 'tool_calls' };
  }
  const format = (body.response_format as { type?: string } | undefined)?.type;
  if (format === 'json_object' || format === 'json_schema') {
    return { content: JSON.stringify({ model: 'demo', you_said: said }), finish: 'stop' };
  }
  return { content: `Demo model (offline, deterministic) heard: ${said || '(nothing)'}`, finish: 'stop' };
}

function usage(prompt: number, completion: number) {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function chatCompletion(call: UpstreamCall, body: JsonObject): JsonObject {
  const reply = chatReply(body);
  const message = reply.toolCall
    ? { role: 'assistant', content: null, tool_calls: [{ id: reply.toolCall.id, type: 'function', function: { name: reply.toolCall.name, arguments: reply.toolCall.arguments } }] }
    : { role: 'assistant', content: reply.content, refusal: null };
  const completion = words(reply.content ?? reply.toolCall?.arguments ?? '').length;
  return {
    id: `chatcmpl-demo-${call.requestId}`,
    object: 'chat.completion',
    created: CREATED,
    model: call.target.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: reply.finish }],
    usage: usage(promptTokens(body), completion),
  };
}

function completionText(body: JsonObject): string {
  const prompt = Array.isArray(body.prompt) ? String(body.prompt[0] ?? '') : String(body.prompt ?? '');
  return `Demo model (offline, deterministic) continues: ${prompt.trim() || '(nothing)'}`;
}

function completion(call: UpstreamCall, body: JsonObject): JsonObject {
  const text = completionText(body);
  return {
    id: `cmpl-demo-${call.requestId}`,
    object: 'text_completion',
    created: CREATED,
    model: call.target.model,
    choices: [{ text, index: 0, logprobs: null, finish_reason: 'stop' }],
    usage: usage(promptTokens(body), words(text).length),
  };
}

/** A unit vector seeded by the text (FNV-1a then xorshift): stable across isolates and versions. */
function vectorFor(text: string, dimensions: number): number[] {
  let seed = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) seed = Math.imul(seed ^ text.charCodeAt(i), 0x01000193) >>> 0;
  const vector: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    vector.push(((seed >>> 0) / 0xffffffff) * 2 - 1);
  }
  const norm = Math.hypot(...vector) || 1;
  return vector.map((x) => Math.fround(x / norm));
}

function embeddings(call: UpstreamCall, body: JsonObject): JsonObject {
  const input = body.input;
  const inputs: unknown[] = typeof input === 'string' || typeof (input as unknown[])[0] === 'number' ? [input] : (input as unknown[]);
  const dims = typeof body.dimensions === 'number' ? body.dimensions : 8;
  const vectors = inputs.map((item) => vectorFor(JSON.stringify(item), dims));
  const tokens = inputs.reduce<number>((n, item) => n + (typeof item === 'string' ? words(item).length : (item as unknown[]).length), 0);
  return embeddingList(vectors, call.target.model, body.encoding_format, tokens);
}

export const demo: Provider<typeof DemoConfig> = {
  kind: 'demo',
  config: DemoConfig,
  supports: () => true,
  buildRequest: (call) => jsonRequest(`demo://offline${OPENAI_PATHS[call.operation]}`, call, openAIRequestBody(call)),

  async send(request, call) {
    const body = JSON.parse(request.body) as JsonObject;
    const json = call.operation === 'chat.completions' ? chatCompletion(call, body) : call.operation === 'completions' ? completion(call, body) : embeddings(call, body);
    if (!call.stream || call.operation === 'embeddings') return Response.json(json);
    // The same answer, streamed as OpenAI streams it; usage last when the request asks (it does when stream_usage is on).
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    return new Response(answerStream(call.operation, json, includeUsage, call.signal), { headers: { 'content-type': 'text/event-stream' } });
  },

  parseResponse: openAIAnswer,
  parseError: httpError,
  streamTranslator: openAIStream,
};
