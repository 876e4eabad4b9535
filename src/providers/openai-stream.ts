import { GatewayError } from '../errors';
import { DONE, type StreamTranslator, type Translated } from '../streaming/translator';
import type { SseEvent } from '../streaming/sse';
import type { UpstreamCall } from './provider';
import { scrub } from './scrub';

/**
 * An OpenAI-format stream (OpenAI API reference, "Chat completions: streaming"):
 * every data event already is the chunk the client wants, so it passes through
 * untouched. What the translator adds is judgement:
 * - `[DONE]` ends the stream; some OpenAI-compatible servers omit it after a
 *   proper finish, so a stream that closes after a `finish_reason` ended too;
 * - an in-band `{"error":…}` event fails the stream: before any chunk it fails the
 *   attempt, which routing can retry or fail over; after, the client gets it as
 *   the stream's error event (the message scrubbed).
 */
export function openAIStream(call: UpstreamCall): StreamTranslator {
  let started = false;
  let finished = false;
  return {
    push(event: SseEvent): Translated {
      const data = event.data;
      if (data === DONE) return DONE;
      // Parsing every chunk would cost CPU on the hot path; only the rare chunks
      // that can carry an error are parsed.
      if (data.includes('"error"')) {
        const failure = errorEvent(data, call, started);
        if (failure) return failure;
      }
      if (!finished && data.includes('"finish_reason":"')) finished = true;
      started = true;
      return data;
    },
    end: () => (finished ? DONE : null),
  };
}

function errorEvent(data: string, call: UpstreamCall, started: boolean): GatewayError | undefined {
  let chunk: { error?: unknown; choices?: unknown };
  try {
    chunk = JSON.parse(data) as typeof chunk;
  } catch {
    return undefined; // Not JSON: the relay refuses it as such.
  }
  if (typeof chunk !== 'object' || chunk === null || !chunk.error || chunk.choices) return undefined;
  const said = (chunk.error as { message?: unknown }).message;
  const message = typeof said === 'string' ? scrub(said, [call.credential]) : '';
  const { provider } = call.target;
  if (!started) {
    return new GatewayError('upstream_failed', `Provider "${provider}" sent an error before any data${message ? `: ${message}` : ''}`, { retryable: true });
  }
  return new GatewayError('stream_cut', `Provider "${provider}" failed mid-stream${message ? `: ${message.slice(0, 200)}` : ''}`);
}
