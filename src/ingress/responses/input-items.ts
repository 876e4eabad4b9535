import type { JsonObject } from '../../core/json';
import { GatewayError } from '../../errors';
import type { ResponseContext } from './response-object';

/**
 * A stored response's input items (`GET /v1/responses/{id}/input_items`): the
 * request's `input` as OpenAI lists it back, one item per entry, each with an id
 * (kept when the caller sent one, else `<prefix>_<hex>_in<n>`), a message's text
 * as content parts. Listed like OpenAI's cursor pages: `order` (default `desc`),
 * `limit` 1-100 (default 20), `after` / `before` an item id.
 */

const PREFIX: Record<string, string> = { message: 'msg', function_call: 'fc', function_call_output: 'fco', reasoning: 'rs' };

export function inputItems(context: ResponseContext, input: unknown): JsonObject[] {
  const items: unknown[] = typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : Array.isArray(input) ? input : [];
  return items.map((raw, n) => {
    const item = { ...(raw as JsonObject) };
    const type = typeof item.type === 'string' ? item.type : 'message';
    if (typeof item.id !== 'string') item.id = `${PREFIX[type] ?? 'item'}_${context.hex}_in${n}`;
    if (type === 'message') {
      item.type = 'message';
      item.status ??= 'completed';
      if (typeof item.content === 'string') {
        item.content = [{ type: item.role === 'assistant' ? 'output_text' : 'input_text', text: item.content }];
      }
    }
    return item;
  });
}

/** Chat messages (as a call sent them, after its input guardrails) as the input items they stand for. */
export function itemsFromMessages(messages: readonly JsonObject[]): JsonObject[] {
  const items: JsonObject[] = [];
  for (const message of messages) {
    if (message.role === 'tool') {
      items.push({ type: 'function_call_output', call_id: message.tool_call_id, output: message.content });
      continue;
    }
    const assistant = message.role === 'assistant';
    const text = assistant ? 'output_text' : 'input_text';
    const content = typeof message.content === 'string' ? [{ type: text, text: message.content }] : Array.isArray(message.content) ? (message.content as JsonObject[]).map((part) => inputPart(part, text)) : [];
    if (content.length > 0) items.push({ type: 'message', role: message.role, content });
    for (const call of (message.tool_calls as JsonObject[] | undefined) ?? []) {
      const fn = call.function as JsonObject;
      items.push({ type: 'function_call', call_id: call.id, name: fn.name, arguments: fn.arguments, status: 'completed' });
    }
  }
  return items;
}

function inputPart(part: JsonObject, text: string): JsonObject {
  if (part.type === 'text') return { type: text, text: part.text };
  if (part.type === 'image_url') return { type: 'input_image', image_url: (part.image_url as JsonObject).url, detail: (part.image_url as JsonObject).detail ?? 'auto' };
  if (part.type === 'file') return { type: 'input_file', ...(part.file as JsonObject) };
  return part;
}

export interface ListQuery {
  order: 'asc' | 'desc';
  limit: number;
  after: string | undefined;
  before: string | undefined;
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', `Invalid '${param}': ${message}`, { param });
}

export function listQuery(params: URLSearchParams): ListQuery {
  const order = params.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw invalid('order', 'must be "asc" or "desc"');
  const rawLimit = params.get('limit');
  const limit = rawLimit === null ? 20 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalid('limit', 'must be an integer from 1 to 100');
  return { order, limit, after: params.get('after') ?? undefined, before: params.get('before') ?? undefined };
}

/** One page of the items, as OpenAI's list objects carry it. */
export function listPage(items: readonly JsonObject[], query: ListQuery): JsonObject {
  let ordered = query.order === 'asc' ? [...items] : [...items].reverse();
  for (const [param, cursor] of [['after', query.after], ['before', query.before]] as const) {
    if (cursor === undefined) continue;
    const at = ordered.findIndex((item) => item.id === cursor);
    if (at < 0) throw invalid(param, `no input item of this response has the id '${cursor}'`);
    ordered = param === 'after' ? ordered.slice(at + 1) : ordered.slice(0, at);
  }
  // `before` pages back towards the start: the items nearest the cursor.
  const data = query.before !== undefined && query.after === undefined ? ordered.slice(-query.limit) : ordered.slice(0, query.limit);
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
    has_more: data.length < ordered.length,
  };
}
