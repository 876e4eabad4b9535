import type { JsonObject } from '../../core/json';
import { GatewayError } from '../../errors';
import type { ChatCompletionRequest } from '../../core/openai-requests';
import type { UpstreamRequest } from '../provider';
import { fixedUrl } from '../upstream-url';
import { type AnthropicCall, DEFAULT_BASE_URL } from './config';
import { outputFormat } from './output-format';
import { thinking } from './thinking';
import { thinkingOf, type ThinkingBlock, toolUseId } from './thinking-blocks';

/**
 * An OpenAI chat request as Anthropic's Messages API request (POST /v1/messages,
 * API reference "Messages"): system and developer messages lifted into `system`;
 * user, assistant and tool turns as alternating user/assistant turns of content
 * blocks (tool results are `tool_result` blocks of a user turn, first in it;
 * assistant tool calls are `tool_use` blocks); `max_tokens` always set, since
 * Anthropic requires it; `reasoning_effort` as thinking (thinking.ts), and the
 * signed thinking a tool call's id carries back in front of its turn
 * (thinking-blocks.ts); a `json_schema` response_format as structured outputs
 * (output-format.ts), in the same `output_config` as thinking's effort. What would
 * change the answer and cannot be expressed is refused with a 400 naming the field:
 * n > 1, logprobs, JSON mode without a schema, temperature above 1, audio and file
 * parts. Hints with no Anthropic counterpart (presence and frequency penalties,
 * seed, logit_bias, stream_options: Anthropic always streams usage) are not sent;
 * Anthropic refuses fields it does not know.
 */

type ChatMessage = ChatCompletionRequest['messages'][number];
type Part = { type: string; [field: string]: unknown };

type TextBlock = { type: 'text'; text: string };
type ImageSource = { type: 'url'; url: string } | { type: 'base64'; media_type: string; data: string };
type Block =
  | TextBlock
  | ThinkingBlock
  | { type: 'image'; source: ImageSource }
  | { type: 'tool_use'; id: string; name: string; input: JsonObject }
  | { type: 'tool_result'; tool_use_id: string; content?: string | TextBlock[] };
type Turn = { role: 'user' | 'assistant'; content: Block[] };

/** Image types the Messages API accepts (API reference, "Vision"). */
const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+);base64,([A-Za-z0-9+/=\s]+)$/;

function refused(param: string, why: string): GatewayError {
  return new GatewayError('invalid_request', `Anthropic models cannot take this request: ${why}`, { param });
}

export function anthropicRequest(call: AnthropicCall): UpstreamRequest {
  const { config } = call.target;
  const headers: Record<string, string> = {
    ...config.headers,
    'content-type': 'application/json',
    accept: call.stream ? 'text/event-stream' : 'application/json',
    'anthropic-version': config.anthropic_version,
    'x-request-id': call.requestId,
  };
  if (call.credential) headers['x-api-key'] = call.credential;
  const url = fixedUrl(config.base_url ?? DEFAULT_BASE_URL, '/v1/messages');
  return { url, method: 'POST', headers, body: JSON.stringify(anthropicBody(call)) };
}

export function anthropicBody(call: AnthropicCall): JsonObject {
  if (call.operation !== 'chat.completions') throw refused('model', `Anthropic serves chat completions only, not ${call.operation}`);
  const body = call.body as ChatCompletionRequest;
  refuseInexpressible(body);
  const format = outputFormat(body);
  const thinks = thinking(call, body);
  const { system, messages } = conversation(body.messages, thinks.on);
  const out: JsonObject = { model: call.target.model, max_tokens: thinks.maxTokens, messages };
  if (system.length === 1) out.system = system[0]!.text;
  else if (system.length > 1) out.system = system;
  if (typeof body.stop === 'string') out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.length > 0) out.stop_sequences = body.stop;
  if (body.temperature != null) out.temperature = body.temperature;
  if (body.top_p != null) out.top_p = body.top_p;
  // Not OpenAI's, but callers of OpenAI-compatible servers send it, and Anthropic has it.
  if (typeof body.top_k === 'number') out.top_k = body.top_k;
  Object.assign(out, toolFields(body), thinks.fields);
  if (format) out.output_config = { ...(thinks.fields.output_config as JsonObject | undefined), format };
  if (body.user) out.metadata = { user_id: body.user };
  if (call.stream) out.stream = true;
  return out;
}

function refuseInexpressible(body: ChatCompletionRequest): void {
  if (body.n != null && body.n > 1) throw refused('n', 'Anthropic returns one choice per request (n must be 1)');
  if (body.logprobs === true) throw refused('logprobs', 'Anthropic does not return log probabilities');
  if (body.top_logprobs != null && body.top_logprobs > 0) throw refused('top_logprobs', 'Anthropic does not return log probabilities');
  if (body.temperature != null && body.temperature > 1) throw refused('temperature', 'Anthropic takes a temperature from 0 to 1');
  if ('functions' in body || 'function_call' in body) throw refused('functions', 'use `tools` instead of the deprecated `functions`');
}

/**
 * The system text and the user/assistant turns, consecutive same-role turns merged
 * (Anthropic requires them to alternate). `thinks`: the turns get their thinking
 * blocks back; without thinking Claude wants none in the history.
 */
function conversation(input: readonly ChatMessage[], thinks: boolean): { system: TextBlock[]; messages: JsonObject[] } {
  const system: TextBlock[] = [];
  const turns: Turn[] = [];
  const add = (role: Turn['role'], blocks: Block[]) => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  input.forEach((message, i) => {
    const at = `messages[${i}]`;
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...textBlocks(message.content, `${at}.content`));
        break;
      case 'user':
        add('user', userBlocks(message.content, `${at}.content`));
        break;
      case 'assistant':
        add('assistant', assistantBlocks(message, at, thinks));
        break;
      case 'tool':
        add('user', [toolResult(message, at)]);
        break;
      default:
        throw refused(`${at}.role`, 'the deprecated `function` role has no Anthropic equivalent; use tool messages');
    }
  });
  if (turns.length === 0) throw refused('messages', 'it needs at least one user or assistant message besides the system prompt');
  return { system, messages: turns.map(wireTurn) };
}

/** A user turn's tool results come first in it (Anthropic refuses text before them); a lone text block goes as a plain string. */
function wireTurn(turn: Turn): JsonObject {
  const content = turn.role === 'user' ? [...turn.content].sort((a, b) => rank(a) - rank(b)) : turn.content;
  const only = content[0]!;
  return { role: turn.role, content: content.length === 1 && only.type === 'text' ? only.text : content };
}

function rank(block: Block): number {
  return block.type === 'tool_result' ? 0 : 1;
}

function parts(content: ChatMessage['content']): Part[] {
  if (content == null) return [];
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return content as Part[];
}

/** Text only (system prompts, tool results); empty text is left out, as Anthropic refuses empty text blocks. */
function textBlocks(content: ChatMessage['content'], at: string): TextBlock[] {
  return parts(content).flatMap((part, j) => {
    if (part.type !== 'text' || typeof part.text !== 'string') throw refused(`${at}[${j}].type`, `a "${part.type}" part cannot go here, only text`);
    return part.text ? [{ type: 'text' as const, text: part.text }] : [];
  });
}

function userBlocks(content: ChatMessage['content'], at: string): Block[] {
  return parts(content).flatMap((part, j): Block[] => {
    if (part.type === 'text' && typeof part.text === 'string') return part.text ? [{ type: 'text', text: part.text }] : [];
    if (part.type === 'image_url') return [{ type: 'image', source: imageSource(part.image_url, `${at}[${j}].image_url`) }];
    throw refused(`${at}[${j}].type`, `"${part.type}" parts are not supported (text and image_url are)`);
  });
}

/** A URL source for http(s), a base64 source for a data URL (API reference, "Vision": image sources). */
function imageSource(image: unknown, at: string): ImageSource {
  const url = typeof image === 'string' ? image : (image as { url?: unknown } | null)?.url;
  if (typeof url !== 'string') throw refused(at, 'an image_url part needs a `url`');
  if (/^https?:\/\//i.test(url)) return { type: 'url', url };
  const data = DATA_URL.exec(url);
  if (!data) throw refused(at, 'an image must be an http(s) URL or a base64 data URL');
  const mediaType = data[1]!.toLowerCase();
  if (!IMAGE_TYPES.has(mediaType)) throw refused(at, `Anthropic takes JPEG, PNG, GIF and WebP images, not ${mediaType}`);
  return { type: 'base64', media_type: mediaType, data: data[2]!.replace(/\s+/g, '') };
}

/** Thinking first (Anthropic wants a thinking turn to start with it), then text, then tool calls. */
function assistantBlocks(message: ChatMessage, at: string, thinks: boolean): Block[] {
  const thoughts: ThinkingBlock[] = [];
  const blocks: Block[] = parts(message.content).flatMap((part, j): Block[] => {
    // A refusal the model gave earlier is what it said: it goes back as text.
    const text = part.type === 'text' ? part.text : part.type === 'refusal' ? part.refusal : undefined;
    if (typeof text !== 'string') throw refused(`${at}.content[${j}].type`, `an assistant message cannot carry "${part.type}" parts`);
    return text ? [{ type: 'text', text }] : [];
  });
  (message.tool_calls ?? []).forEach((toolCall, j) => {
    const where = `${at}.tool_calls[${j}]`;
    const fn = toolCall.function as { name?: unknown; arguments?: unknown };
    if (toolCall.type !== 'function' || typeof fn.name !== 'string') throw refused(`${where}.type`, 'only function tool calls are supported');
    if (thinks) thoughts.push(...thinkingOf(toolCall.id, `${where}.id`));
    blocks.push({ type: 'tool_use', id: toolUseId(toolCall.id), name: fn.name, input: toolInput(fn.arguments, `${where}.function.arguments`) });
  });
  return [...thoughts, ...blocks];
}

/** OpenAI carries tool arguments as JSON text; Anthropic wants the object itself. */
function toolInput(args: unknown, at: string): JsonObject {
  if (args === undefined || args === '') return {};
  if (typeof args === 'string') {
    try {
      const input = JSON.parse(args) as unknown;
      if (typeof input === 'object' && input !== null && !Array.isArray(input)) return input as JsonObject;
    } catch {
      // Refused below.
    }
  }
  throw refused(at, 'tool call arguments must be a JSON object');
}

function toolResult(message: ChatMessage, at: string): Block {
  if (!message.tool_call_id) throw refused(`${at}.tool_call_id`, 'a tool message needs the `tool_call_id` it answers');
  const text = textBlocks(message.content, `${at}.content`);
  const block: Block = { type: 'tool_result', tool_use_id: toolUseId(message.tool_call_id) };
  if (text.length === 1) block.content = text[0]!.text;
  else if (text.length > 1) block.content = text;
  return block;
}

/** tools → `{name, description, input_schema}`; tool_choice and parallel_tool_calls → Anthropic's `tool_choice` (API reference, "Tool use"). */
function toolFields(body: ChatCompletionRequest): JsonObject {
  const choice = body.tool_choice;
  if (!body.tools || body.tools.length === 0) {
    // OpenAI refuses a tool choice without tools too; "auto" and "none" mean nothing without them.
    if (choice !== undefined && choice !== 'auto' && choice !== 'none') throw refused('tool_choice', 'a tool choice needs `tools`');
    return {};
  }
  const tools = body.tools.map((tool, i) => {
    if (tool.type !== 'function' || !tool.function) throw refused(`tools[${i}].type`, 'only function tools are supported');
    const { name, description, parameters } = tool.function;
    const out: JsonObject = { name, input_schema: parameters ?? { type: 'object', properties: {} } };
    if (description) out.description = description;
    return out;
  });
  let toolChoice: JsonObject | undefined;
  if (choice === 'none') toolChoice = { type: 'none' };
  else if (choice === 'required') toolChoice = { type: 'any' };
  else if (choice === 'auto') toolChoice = { type: 'auto' };
  else if (typeof choice === 'object') {
    if (choice.type !== 'function' || !choice.function?.name) throw refused('tool_choice', 'a named tool choice must be `{"type":"function","function":{"name":...}}`');
    toolChoice = { type: 'tool', name: choice.function.name };
  }
  if (body.parallel_tool_calls === false && toolChoice?.type !== 'none') {
    toolChoice = { ...(toolChoice ?? { type: 'auto' }), disable_parallel_tool_use: true };
  }
  return toolChoice ? { tools, tool_choice: toolChoice } : { tools };
}
