import type { JsonObject } from '../../core/json';
import { GatewayError } from '../../errors';
import type { ContentPart, InputItem, ResponsesRequest } from './schemas';

/**
 * A Responses request as the gateway's internal call, an OpenAI chat completion
 * body: what routing, limits, the cache and every provider already understand.
 *
 * - `instructions` become the first (system) message; they are not part of the
 *   conversation a later response continues (OpenAI does not carry them over either).
 * - Input items become messages in order: a `function_call` joins the assistant
 *   message before it (or starts one), so parallel calls stay one assistant turn; a
 *   `function_call_output` becomes a tool message; `reasoning` items are left out.
 * - `developer` messages are sent as `system`: OpenAI treats the two alike, and
 *   many OpenAI-compatible servers know only `system`.
 */

export interface ChatCall {
  /** The chat completion body the call runs as. */
  body: JsonObject;
  /** The conversation so far without the instructions: what a later response continues (state.ts). */
  conversation: JsonObject[];
}

export function toChat(request: ResponsesRequest, history: readonly JsonObject[], stream: boolean): ChatCall {
  const conversation = [...history, ...inputMessages(request.input)];
  if (conversation.length === 0) throw invalid('input', 'is required: a string or a list of input items');
  const messages = request.instructions ? [{ role: 'system', content: request.instructions }, ...conversation] : conversation;

  const body: JsonObject = { model: request.model, messages };
  if (stream) body.stream = true;
  const tools = request.tools ?? [];
  if (tools.length > 0) {
    body.tools = tools.map(({ name, description, parameters, strict }) => ({
      type: 'function',
      function: defined({ name, description, parameters, strict }),
    }));
    // OpenAI refuses parallel_tool_calls without tools.
    if (typeof request.parallel_tool_calls === 'boolean') body.parallel_tool_calls = request.parallel_tool_calls;
  }
  const choice = request.tool_choice;
  if (choice) body.tool_choice = typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
  const format = request.text?.format;
  if (format && format.type !== 'text') {
    body.response_format =
      format.type === 'json_schema'
        ? { type: 'json_schema', json_schema: defined({ name: format.name, schema: format.schema, description: format.description, strict: format.strict }) }
        : { type: 'json_object' };
  }
  Object.assign(
    body,
    defined({
      max_completion_tokens: request.max_output_tokens,
      temperature: request.temperature,
      top_p: request.top_p,
      reasoning_effort: request.reasoning?.effort,
      verbosity: request.text?.verbosity,
      user: request.user,
      safety_identifier: request.safety_identifier,
      prompt_cache_key: request.prompt_cache_key,
      prompt_cache_retention: request.prompt_cache_retention,
      service_tier: request.service_tier,
    }),
  );
  return { body, conversation };
}

function inputMessages(input: ResponsesRequest['input']): JsonObject[] {
  if (input === undefined) return [];
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  const messages: JsonObject[] = [];
  input.forEach((item, i) => {
    const at = `input[${i}]`;
    const message = toMessage(item, at);
    if (!message) return;
    const last = messages.at(-1);
    if (item.type === 'function_call' && last?.role === 'assistant') {
      last.tool_calls = [...((last.tool_calls as JsonObject[] | undefined) ?? []), ...(message.tool_calls as JsonObject[])];
      return;
    }
    messages.push(message);
  });
  return messages;
}

function toMessage(item: InputItem, at: string): JsonObject | undefined {
  switch (item.type) {
    case 'reasoning':
      return undefined;
    case 'function_call':
      return {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } }],
      };
    case 'function_call_output':
      return { role: 'tool', tool_call_id: item.call_id, content: toolOutput(item.output, `${at}.output`) };
    default: {
      if (item.role === 'assistant') return assistantMessage(item.content, `${at}.content`);
      const role = item.role === 'developer' ? 'system' : item.role;
      if (typeof item.content === 'string') return { role, content: item.content };
      return { role, content: item.content.map((part, j) => inputPart(part, `${at}.content[${j}]`)) };
    }
  }
}

function inputPart(part: ContentPart, at: string): JsonObject {
  switch (part.type) {
    case 'input_text':
      return { type: 'text', text: part.text };
    case 'input_image': {
      // Chat completions know low, high and auto; "original" asks for full detail.
      const detail = part.detail === 'original' ? 'high' : part.detail;
      return { type: 'image_url', image_url: defined({ url: part.image_url, detail }) };
    }
    case 'input_file':
      return { type: 'file', file: defined({ file_data: part.file_data, filename: part.filename }) };
    default:
      throw invalid(`${at}.type`, `"${part.type}" is an output part; only an assistant message may carry it`);
  }
}

function assistantMessage(content: string | ContentPart[], at: string): JsonObject {
  if (typeof content === 'string') return { role: 'assistant', content };
  let text = '';
  let refusal = '';
  content.forEach((part, j) => {
    if (part.type === 'output_text' || part.type === 'input_text') text += part.text;
    else if (part.type === 'refusal') refusal += part.refusal;
    else throw invalid(`${at}[${j}].type`, `an assistant message carries text only, not "${part.type}"`);
  });
  return refusal ? { role: 'assistant', content: text || null, refusal } : { role: 'assistant', content: text };
}

/** A chat tool message carries text only. */
function toolOutput(output: string | ContentPart[], at: string): string {
  if (typeof output === 'string') return output;
  return output
    .map((part, j) => {
      if (part.type === 'input_text' || part.type === 'output_text') return part.text;
      throw invalid(`${at}[${j}].type`, `a function call's output may carry text only, not "${part.type}"`);
    })
    .join('');
}

/** The fields that are set: null and undefined mean "the default" and are left out. */
function defined(fields: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined && value !== null) out[key] = value;
  return out;
}

export function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', `Invalid request: ${param}: ${message}`, { param });
}
