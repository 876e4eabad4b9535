import type { JsonObject } from '../../core/json';
import { GatewayError } from '../../errors';

/**
 * Conversation state for `previous_response_id`, in the CACHE KV namespace. A
 * response created with `store: true` keeps the conversation it ended (its input
 * messages, without the instructions, and its answer as an assistant message,
 * already in the chat shape the next call is sent in) under
 * `resp:<key id>:<response id>`, for 30 days. The key id is part of the KV key,
 * so another key can never read it: to any other key it does not exist.
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

interface Stored {
  format: typeof FORMAT;
  messages: JsonObject[];
}

const storageKey = (keyId: string, responseId: string) => `resp:${keyId}:${responseId}`;

export async function loadConversation(kv: KVNamespace, keyId: string, responseId: string): Promise<JsonObject[]> {
  let stored: Stored | null;
  try {
    stored = await kv.get<Stored>(storageKey(keyId, responseId), 'json');
  } catch (error) {
    console.error(`conversation read failed: ${String(error)}`);
    throw new GatewayError('internal_error', 'The conversation of previous_response_id could not be read; try again');
  }
  if (stored?.format === FORMAT && Array.isArray(stored.messages)) return stored.messages;
  throw new GatewayError(
    'invalid_request',
    `Previous response with id '${responseId}' not found. This gateway keeps a response for 30 days when it is created with store: true, for the key that created it.`,
    { status: 404, param: 'previous_response_id', wireCode: 'previous_response_not_found' },
  );
}

export interface ConversationStore {
  kv: KVNamespace;
  keyId: string;
  waitUntil(promise: Promise<unknown>): void;
}

/** Keeps the conversation a response ended, in the background; a failed write is logged, never the call's failure. */
export function saveConversation(store: ConversationStore, conversation: readonly JsonObject[], response: JsonObject): void {
  const answer = assistantTurn(response.output as JsonObject[]);
  const stored: Stored = { format: FORMAT, messages: answer ? [...conversation, answer] : [...conversation] };
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
