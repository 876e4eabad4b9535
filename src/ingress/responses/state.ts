import type { JsonObject } from '../../core/json';
import { GatewayError } from '../../errors';

/**
 * Stored responses, in the CACHE KV namespace. A response created with `store: true`
 * keeps, under `resp:<key id>:<response id>` for 30 days: the conversation it ended
 * (its input messages, without the instructions, and its answer as an assistant
 * message, already in the chat shape the next call is sent in) for
 * `previous_response_id`; the response object itself, for `GET /v1/responses/{id}`;
 * and its input items, for `GET /v1/responses/{id}/input_items`. The key id is part
 * of the KV key, so another key can never read it: to any other key it does not exist.
 *
 * Nothing is kept unless the caller asks with `store: true`: the gateway's log keeps
 * no prompts, and a caller who does not chain responses should not leave any behind.
 * KV is eventually consistent across locations: a response is readable at once
 * where it was written, and within about a minute everywhere else.
 */

const TTL_S = 30 * 24 * 60 * 60;
/** A conversation bigger than this is not kept (KV allows 25 MiB; a prompt that long is sent in full every turn). */
export const MAX_CONVERSATION_BYTES = 1024 * 1024;
const FORMAT = 1;

export interface Stored {
  format: typeof FORMAT;
  messages: JsonObject[];
  /** The response as its caller received it (absent in entries kept before retrieval existed). */
  response?: JsonObject;
  /** Its input items, each with an id. */
  input?: JsonObject[];
}

const storageKey = (keyId: string, responseId: string) => `resp:${keyId}:${responseId}`;
const KEPT = 'This gateway keeps a response for 30 days when it is created with store: true, for the key that created it.';

/** The stored response, or undefined; a KV failure is a 500 the caller may retry, never a "not found". */
export async function loadStored(kv: KVNamespace, keyId: string, responseId: string): Promise<Stored | undefined> {
  let stored: Stored | null;
  try {
    stored = await kv.get<Stored>(storageKey(keyId, responseId), 'json');
  } catch (error) {
    console.error(`stored response read failed: ${String(error)}`);
    throw new GatewayError('internal_error', 'The stored response could not be read; try again');
  }
  return stored?.format === FORMAT && Array.isArray(stored.messages) ? stored : undefined;
}

export async function loadConversation(kv: KVNamespace, keyId: string, responseId: string): Promise<JsonObject[]> {
  const stored = await loadStored(kv, keyId, responseId);
  if (stored) return stored.messages;
  throw new GatewayError('invalid_request', `Previous response with id '${responseId}' not found. ${KEPT}`, {
    status: 404,
    param: 'previous_response_id',
    wireCode: 'previous_response_not_found',
  });
}

export function responseNotFound(responseId: string): GatewayError {
  return new GatewayError('invalid_request', `Response with id '${responseId}' not found. ${KEPT}`, { status: 404, wireCode: 'not_found' });
}

export async function deleteStored(kv: KVNamespace, keyId: string, responseId: string): Promise<void> {
  try {
    await kv.delete(storageKey(keyId, responseId));
  } catch (error) {
    console.error(`stored response delete failed: ${String(error)}`);
    throw new GatewayError('internal_error', 'The stored response could not be deleted; try again');
  }
}

export interface ConversationStore {
  kv: KVNamespace;
  keyId: string;
  waitUntil(promise: Promise<unknown>): void;
}

/** Keeps a response and the conversation it ended, in the background; a failed write is logged, never the call's failure. */
export function saveConversation(store: ConversationStore, conversation: readonly JsonObject[], response: JsonObject, input: JsonObject[]): void {
  const answer = assistantTurn(response.output as JsonObject[]);
  const stored: Stored = { format: FORMAT, messages: answer ? [...conversation, answer] : [...conversation], response, input };
  const value = JSON.stringify(stored);
  if (new TextEncoder().encode(value).byteLength > MAX_CONVERSATION_BYTES) {
    console.error(`conversation of ${String(response.id)} not kept: over ${MAX_CONVERSATION_BYTES} bytes`);
    return;
  }
  const writing = store.kv.put(storageKey(store.keyId, String(response.id)), value, { expirationTtl: TTL_S });
  store.waitUntil(writing.catch((error: unknown) => console.error(`conversation write failed: ${String(error)}`)));
}

/** A response's output as the assistant message a chat completion continues from; undefined when it said nothing. */
function assistantTurn(output: JsonObject[]): JsonObject | undefined {
  let text = '';
  let refusal = '';
  const toolCalls: JsonObject[] = [];
  for (const item of output) {
    if (item.type === 'function_call') {
      toolCalls.push({ id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } });
    } else if (item.type === 'message') {
      for (const part of item.content as { type: string; text?: string; refusal?: string }[]) {
        if (part.type === 'output_text') text += part.text ?? '';
        else if (part.type === 'refusal') refusal += part.refusal ?? '';
      }
    }
  }
  if (!text && !refusal && toolCalls.length === 0) return undefined;
  return {
    role: 'assistant',
    content: text || null,
    ...(refusal ? { refusal } : {}),
    ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
  };
}
