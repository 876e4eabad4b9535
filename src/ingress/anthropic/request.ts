import type { JsonObject } from '../../core/json';
import type { AssistantBlock, CountTokensRequest, ToolResultBlock, UserBlock } from './schemas';

/**
 * A Messages request as the OpenAI chat body the gateway runs internally
 * (operation `chat.completions`): routing, limits, cache and logging see the same
 * shape whichever API the caller spoke.
 *
 * - `system` becomes the first message; blocks are joined with a blank line.
 * - A user turn's `tool_result` blocks become `tool` messages (Anthropic puts them
 *   first in the turn; OpenAI wants them right after the assistant's calls); its
 *   other blocks, and any image or document inside a tool result (a tool message
 *   carries only text), follow as one user message.
 * - An assistant turn's `tool_use` blocks become `tool_calls`; thinking is dropped.
 * - Sampling: stop_sequences → stop, metadata.user_id → user; top_k and thinking are
 *   dropped (OpenAI refuses top_k; reasoning_effort would be refused by every model
 *   that does not reason).
 */

type Request = CountTokensRequest;
type Part = JsonObject;

const TOOL_ERROR_PREFIX = 'Tool error: ';

export function chatBody(request: Request, stream: boolean): JsonObject {
  const body: JsonObject = { model: request.model, messages: chatMessages(request) };
  if (request.max_tokens !== undefined) body.max_tokens = request.max_tokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.top_p !== undefined) body.top_p = request.top_p;
  if (request.stop_sequences !== undefined && request.stop_sequences.length > 0) body.stop = request.stop_sequences;
  if (request.metadata?.user_id) body.user = request.metadata.user_id;
  addTools(body, request);
  if (stream) body.stream = true;
  return body;
}

function addTools(body: JsonObject, request: Request): void {
  // OpenAI refuses an empty tool list, and tool_choice or parallel_tool_calls without tools.
  if (!request.tools || request.tools.length === 0) return;
  body.tools = request.tools.map((tool) => ({
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      parameters: tool.input_schema,
    },
  }));
  const choice = request.tool_choice;
  if (!choice) return;
  if (choice.type === 'any') body.tool_choice = 'required';
  else if (choice.type === 'tool') body.tool_choice = { type: 'function', function: { name: choice.name } };
  else body.tool_choice = choice.type;
  if (choice.type !== 'none' && choice.disable_parallel_tool_use === true) body.parallel_tool_calls = false;
}

function chatMessages(request: Request): JsonObject[] {
  const out: JsonObject[] = [];
  const system = typeof request.system === 'string' ? request.system : request.system?.map((block) => block.text).join('\n\n');
  if (system) out.push({ role: 'system', content: system });
  for (const message of request.messages) {
    if (message.role === 'user') userTurn(message.content, out);
    else assistantTurn(message.content, out);
  }
  return out;
}

function userTurn(content: string | UserBlock[], out: JsonObject[]): void {
  if (typeof content === 'string') {
    out.push({ role: 'user', content });
    return;
  }
  const parts: Part[] = [];
  for (const block of content) {
    if (block.type === 'tool_result') {
      const texts: string[] = [];
      const result = block.content ?? '';
      if (typeof result === 'string') texts.push(result);
      else for (const item of result) item.type === 'text' ? texts.push(item.text) : parts.push(part(item));
      const text = texts.join('\n');
      out.push({ role: 'tool', tool_call_id: block.tool_use_id, content: block.is_error ? TOOL_ERROR_PREFIX + text : text });
    } else parts.push(part(block));
  }
  if (parts.length === 0) return;
  const only = parts.length === 1 && parts[0]!.type === 'text' ? parts[0]!.text : undefined;
  out.push({ role: 'user', content: only ?? parts });
}

/** One content block as an OpenAI content part. */
function part(block: ToolResultBlock): Part {
  if (block.type === 'text') return { type: 'text', text: block.text };
  if (block.type === 'image') {
    const source = block.source;
    const url = source.type === 'base64' ? `data:${source.media_type};base64,${source.data}` : source.url;
    return { type: 'image_url', image_url: { url } };
  }
  const source = block.source;
  if (source.type === 'text') return { type: 'text', text: source.data };
  return { type: 'file', file: { filename: block.title ?? 'document.pdf', file_data: `data:application/pdf;base64,${source.data}` } };
}

function assistantTurn(content: string | AssistantBlock[], out: JsonObject[]): void {
  if (typeof content === 'string') {
    out.push({ role: 'assistant', content });
    return;
  }
  const texts: string[] = [];
  const calls: JsonObject[] = [];
  for (const block of content) {
    if (block.type === 'text') texts.push(block.text);
    else if (block.type === 'tool_use') {
      calls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input) } });
    }
  }
  // A turn that was only thinking leaves nothing to send.
  if (texts.length === 0 && calls.length === 0) return;
  const message: JsonObject = { role: 'assistant', content: texts.length > 0 ? texts.join('\n\n') : null };
  if (calls.length > 0) message.tool_calls = calls;
  out.push(message);
}
