import type { JsonObject } from '../../core/json';
import type { GatewayError } from '../../errors';
import type { StreamFramer } from '../../streaming/framer';
import { readChunk } from '../chunk';
import { anthropicUsage, stopReason, toolUseId } from './answer';
import { errorBody } from './errors';

/**
 * OpenAI chat chunks as Anthropic's stream: `message_start`, then per content block
 * `content_block_start`, its deltas (`text_delta`, or `input_json_delta` for a tool
 * call's arguments) and `content_block_stop`, blocks numbered in order; then
 * `message_delta` (stop reason, usage) and `message_stop`. A failure after the start
 * is one `event: error`, as Anthropic sends it.
 *
 * OpenAI reports usage in a chunk after the finish chunk, so `message_start` carries
 * zeros and `message_delta` (which Anthropic's SDKs merge into the message, input
 * tokens included) waits for that chunk, or for the end when none comes.
 *
 * Each chunk is parsed: re-shaping needs its fields. Only the first choice is read
 * (Anthropic's API has no `n`).
 */

type ToolCallDelta = { index?: unknown; id?: unknown; function?: { name?: unknown; arguments?: unknown } };
type Chunk = {
  model?: unknown;
  usage?: unknown;
  choices?: { delta?: { content?: unknown; refusal?: unknown; tool_calls?: ToolCallDelta[] }; finish_reason?: unknown }[];
};

/** The block being streamed: text, or the tool call of this OpenAI index and id. */
type OpenBlock = { index: number; kind: 'text' } | { index: number; kind: 'tool'; call: number; id: string };

function event(type: string, data: JsonObject): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function anthropicFramer(messageId: string, requestId: string): StreamFramer {
  let started = false;
  let open: OpenBlock | undefined;
  let blocks = 0;
  let finish: unknown;
  let finished = false;
  let calledTools = false;
  let refused = false;
  let usage: unknown;
  let delivered = false;

  const start = (model: unknown): string => {
    started = true;
    const message = {
      id: messageId, type: 'message', role: 'assistant', model: typeof model === 'string' ? model : '', content: [],
      stop_reason: null, stop_sequence: null, usage: anthropicUsage(undefined),
    };
    return event('message_start', { type: 'message_start', message });
  };

  const close = (): string => {
    if (!open) return '';
    const index = open.index;
    open = undefined;
    return event('content_block_stop', { type: 'content_block_stop', index });
  };

  const text = (value: string): string => {
    let out = '';
    if (open?.kind !== 'text') {
      out += close();
      open = { index: blocks++, kind: 'text' };
      out += event('content_block_start', { type: 'content_block_start', index: open.index, content_block: { type: 'text', text: '' } });
    }
    return out + event('content_block_delta', { type: 'content_block_delta', index: open.index, delta: { type: 'text_delta', text: value } });
  };

  const tool = (call: ToolCallDelta): string => {
    let out = '';
    const at = typeof call.index === 'number' ? call.index : 0;
    const id = typeof call.id === 'string' && call.id ? call.id : undefined;
    // A new call: another index, or (servers that number every call 0) another id.
    if (open?.kind !== 'tool' || open.call !== at || (id !== undefined && id !== open.id)) {
      out += close();
      const index = blocks++;
      open = { index, kind: 'tool', call: at, id: id ?? toolUseId(messageId, index) };
      calledTools = true;
      const name = typeof call.function?.name === 'string' ? call.function.name : '';
      const block = { type: 'tool_use', id: open.id, name, input: {} };
      out += event('content_block_start', { type: 'content_block_start', index, content_block: block });
    }
    const args = call.function?.arguments;
    if (typeof args === 'string' && args) {
      out += event('content_block_delta', { type: 'content_block_delta', index: open.index, delta: { type: 'input_json_delta', partial_json: args } });
    }
    return out;
  };

  const messageDelta = (): string => {
    delivered = true;
    const reason = refused ? 'refusal' : stopReason(finish, calledTools);
    return event('message_delta', { type: 'message_delta', delta: { stop_reason: reason, stop_sequence: null }, usage: anthropicUsage(usage) });
  };

  return {
    chunk(data) {
      const chunk = readChunk<Chunk>(data);
      if (!chunk) return '';
      let out = started ? '' : start(chunk.model);
      const choice = chunk.choices?.[0];
      if (choice) {
        const delta = choice.delta ?? {};
        if (typeof delta.content === 'string' && delta.content) out += text(delta.content);
        if (typeof delta.refusal === 'string' && delta.refusal) {
          refused = true;
          out += text(delta.refusal);
        }
        if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) out += tool(call);
        if (choice.finish_reason) {
          finish = choice.finish_reason;
          finished = true;
          out += close();
        }
      }
      if (chunk.usage) usage = chunk.usage;
      if (finished && usage && !delivered) out += messageDelta();
      return out;
    },
    done() {
      let out = started ? '' : start(undefined);
      out += close();
      if (!delivered) out += messageDelta();
      return out + event('message_stop', { type: 'message_stop' });
    },
    error: (error: GatewayError) => event('error', errorBody(error, requestId)),
  };
}
