import type { Usage } from '../../core/usage';
import { GatewayError } from '../../errors';
import type { SseEvent } from '../../streaming/sse';
import { DONE, type StreamTranslator, type Translated } from '../../streaming/translator';
import { ChunkWriter } from '../chat-shape';
import type { UpstreamCall } from '../provider';
import { scrub } from '../scrub';
import { asArray, finishReason, isObject, nativeUsage, partsOf, toolCallOf } from './wire';

/**
 * `streamGenerateContent?alt=sse`: every event is a whole GenerateContentResponse
 * holding the next parts of the (first) candidate. Text parts become content chunks;
 * a function call arrives whole in one part, so it becomes a tool call's opening
 * chunk and its complete arguments at once. The last event carries the finishReason
 * and the final usageMetadata (every event repeats the counts so far; the last one
 * wins). Gemini sends no terminator: a stream that closes after a finishReason is
 * complete (usage chunk, then DONE), one that closes before it was cut.
 */
export function geminiStream(call: UpstreamCall): StreamTranslator {
  const writer = new ChunkWriter(call);
  let started = false;
  let finished = false;
  let toolCalls = 0;
  let usage: Usage | undefined;

  return {
    push(event: SseEvent): Translated {
      let json: unknown;
      try {
        json = JSON.parse(event.data);
      } catch {
        return failure(call, started, 'sent a stream event that is not JSON');
      }
      if (!isObject(json)) return failure(call, started, 'sent a stream event that is not a JSON object');
      if (isObject(json.error)) {
        const said = typeof json.error.message === 'string' ? scrub(json.error.message, [call.credential]) : '';
        const status = typeof json.error.status === 'string' ? ` (${scrub(json.error.status).slice(0, 40)})` : '';
        return failure(call, started, `sent an error${status}${said ? `: ${said.slice(0, 200)}` : ''}`);
      }
      usage = nativeUsage(json.usageMetadata) ?? usage;
      if (finished) return null;
      const chunks: string[] = [];
      const candidate = asArray(json.candidates)[0];
      if (candidate === undefined && isObject(json.promptFeedback) && json.promptFeedback.blockReason) {
        chunks.push(writer.finish('content_filter'));
        finished = true;
      }
      for (const part of partsOf(candidate)) {
        const toolCall = toolCallOf(part, toolCalls);
        if (toolCall) {
          chunks.push(writer.toolCallStart(toolCalls, toolCall.id, toolCall.name), writer.toolCallArguments(toolCalls, toolCall.arguments));
          toolCalls++;
        } else if (typeof part.text === 'string' && part.text !== '') {
          chunks.push(part.thought === true ? writer.reasoning(part.text) : writer.content(part.text));
        }
      }
      if (isObject(candidate) && typeof candidate.finishReason === 'string') {
        chunks.push(writer.finish(finishReason(candidate.finishReason, toolCalls > 0)));
        finished = true;
      }
      if (chunks.length === 0) return null;
      started = true;
      return chunks;
    },
    end(): Translated {
      if (!finished) return null;
      return usage ? [writer.usage(usage), DONE] : DONE;
    },
  };
}

/** Before any chunk the attempt fails and routing may retry or fail over; after, the client's stream ends in an error event. */
function failure(call: UpstreamCall, started: boolean, what: string): GatewayError {
  const { provider } = call.target;
  if (!started) return new GatewayError('upstream_failed', `Provider "${provider}" ${what} before any data`, { retryable: true });
  return new GatewayError('stream_cut', `Provider "${provider}" ${what} mid-stream`);
}
