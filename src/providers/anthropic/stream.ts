import { GatewayError } from '../../errors';
import type { SseEvent } from '../../streaming/sse';
import { DONE, type StreamTranslator, type Translated } from '../../streaming/translator';
import { ChunkWriter } from '../chat-shape';
import { scrub } from '../scrub';
import type { AnthropicCall } from './config';
import { type AnthropicUsage, finishReason, nativeUsage } from './response';
import { type ThinkingBlock, withThinking } from './thinking-blocks';

/**
 * Anthropic's stream (API reference, "Streaming Messages") as OpenAI chunks.
 * Anthropic sends message_start (id, model, input usage), then per content block
 * content_block_start / _delta... / _stop, then message_delta (stop reason, output
 * usage) and message_stop; `ping` may come anywhere, and an `error` event
 * (overloaded_error...) ends the stream. Every event needs translating, so each is
 * parsed, once.
 *
 * Text deltas become content chunks; a tool_use block becomes a tool call whose
 * index counts the answer's tool calls (Anthropic's block index also counts text
 * blocks), its input_json_delta pieces the call's arguments; thinking deltas go
 * out as `reasoning_content`. Thinking blocks are kept with their signature_delta
 * (and redacted_thinking blocks whole) until the first tool call, whose id carries
 * them (thinking-blocks.ts). message_stop gives the finish chunk, the usage chunk
 * and DONE. Nothing is sent for message_start: the role rides on the first real
 * chunk, so an error before any content still fails the attempt, which routing
 * can retry or fail over. A stream that closes without message_stop is cut.
 */

type Event = {
  type?: string;
  index?: number;
  message?: { id?: string; model?: string; usage?: AnthropicUsage };
  content_block?: { type?: string; id?: string; name?: string; text?: string; thinking?: string; data?: string };
  delta?: { type?: string; text?: string; partial_json?: string; thinking?: string; signature?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
  error?: { type?: unknown; message?: unknown };
};

interface ToolBlock {
  index: number;
  /** Whether any arguments were sent: a call with no input still gets `{}`, as in a non-streamed answer. */
  argued: boolean;
}

export function anthropicStream(call: AnthropicCall): StreamTranslator {
  const writer = new ChunkWriter(call);
  /** Anthropic's content block index → the OpenAI tool call it is. */
  const tools = new Map<number, ToolBlock>();
  /** The answer's thinking blocks by block index; a thinking block's `signature` stays empty until its signature_delta. */
  const thoughts = new Map<number, ThinkingBlock>();
  let usage: AnthropicUsage = {};
  let stopReason: string | null | undefined;
  let started = false;

  const translate = (event: Event): Translated => {
    switch (event.type) {
      case 'message_start':
        writer.identify(event.message?.id, event.message?.model);
        usage = { ...event.message?.usage };
        return null;
      case 'content_block_start': {
        const block = event.content_block;
        const index = typeof event.index === 'number' ? event.index : undefined;
        if (block?.type === 'tool_use' && index !== undefined) {
          const tool = { index: tools.size, argued: false };
          tools.set(index, tool);
          const id = tool.index === 0 ? withThinking(block.id ?? '', signed(thoughts)) : (block.id ?? '');
          return writer.toolCallStart(tool.index, id, block.name ?? '');
        }
        if (block?.type === 'thinking') {
          if (index !== undefined) thoughts.set(index, { type: 'thinking', thinking: block.thinking ?? '', signature: '' });
          return block.thinking ? writer.reasoning(block.thinking) : null;
        }
        if (block?.type === 'redacted_thinking' && block.data && index !== undefined) thoughts.set(index, { type: 'redacted_thinking', data: block.data });
        return block?.type === 'text' && block.text ? writer.content(block.text) : null;
      }
      case 'content_block_delta':
        return delta(event);
      case 'content_block_stop': {
        const tool = typeof event.index === 'number' ? tools.get(event.index) : undefined;
        return tool && !tool.argued ? writer.toolCallArguments(tool.index, '{}') : null;
      }
      case 'message_delta':
        stopReason = event.delta?.stop_reason ?? stopReason;
        // Its counts are cumulative: they replace message_start's.
        usage = { ...usage, ...definedFields(event.usage) };
        return null;
      case 'message_stop':
        return [writer.finish(finishReason(stopReason)), writer.usage(nativeUsage(usage)), DONE];
      case 'error':
        return failure(call, event.error, started);
      default:
        // ping, and event types Anthropic may add (its versioning policy says to expect them).
        return null;
    }
  };

  const delta = (event: Event): Translated => {
    const d = event.delta;
    switch (d?.type) {
      case 'text_delta':
        return d.text ? writer.content(d.text) : null;
      case 'input_json_delta': {
        const tool = typeof event.index === 'number' ? tools.get(event.index) : undefined;
        if (!tool || !d.partial_json) return null;
        tool.argued = true;
        return writer.toolCallArguments(tool.index, d.partial_json);
      }
      case 'thinking_delta': {
        if (!d.thinking) return null;
        const thought = typeof event.index === 'number' ? thoughts.get(event.index) : undefined;
        if (thought?.type === 'thinking') thought.thinking += d.thinking;
        return writer.reasoning(d.thinking);
      }
      case 'signature_delta': {
        const thought = typeof event.index === 'number' ? thoughts.get(event.index) : undefined;
        if (thought?.type === 'thinking' && d.signature) thought.signature = d.signature;
        return null;
      }
      default:
        // citations_delta: nothing OpenAI's chunk has a field for.
        return null;
    }
  };

  return {
    push(event: SseEvent): Translated {
      if (event.event === 'ping') return null;
      let parsed: Event;
      try {
        parsed = JSON.parse(event.data) as Event;
      } catch {
        return new GatewayError('upstream_invalid_response', `Provider "${call.target.provider}" sent a stream event that is not JSON`, { retryable: !started });
      }
      const out = translate(typeof parsed === 'object' && parsed !== null ? parsed : {});
      if (out !== null && !(out instanceof GatewayError)) started = true;
      return out;
    },
    // message_stop already sent DONE: closing without it is a cut stream.
    end: () => null,
  };
}

/** The finished thinking blocks in stream order (a thinking block without its signature cannot go back). */
function signed(thoughts: Map<number, ThinkingBlock>): ThinkingBlock[] {
  return [...thoughts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, block]) => block)
    .filter((block) => block.type === 'redacted_thinking' || block.signature !== '');
}

function definedFields(usage: AnthropicUsage | undefined): AnthropicUsage {
  return Object.fromEntries(Object.entries(usage ?? {}).filter(([, value]) => typeof value === 'number'));
}

/** An in-stream `error` event: before any chunk, a failed attempt routing may retry or fail over; after, the stream's error. */
function failure(call: AnthropicCall, error: Event['error'], started: boolean): GatewayError {
  const type = typeof error?.type === 'string' ? scrub(error.type, [call.credential]).slice(0, 64) : '';
  const said = typeof error?.message === 'string' ? scrub(error.message, [call.credential]).slice(0, 200) : '';
  const detail = [type, said].filter(Boolean).join(': ');
  const { provider } = call.target;
  if (!started) {
    return new GatewayError('upstream_failed', `Provider "${provider}" sent an error before any data${detail ? ` (${detail})` : ''}`, { retryable: true });
  }
  return new GatewayError('stream_cut', `Provider "${provider}" failed mid-stream${detail ? ` (${detail})` : ''}`);
}
