import { GatewayError } from '../errors';
import type { CallRecord } from '../logging/call-record';
import type { StreamTap } from '../core/stream-tap';
import type { Target } from '../core/target';
import type { StreamFramer } from './framer';
import { scanEvent } from './scan';
import { DONE, type ChunkGuard, type Translated, type UpstreamStream } from './translator';
import { readUsage } from '../core/usage';
import { countStreamed, recordUsage, type Streamed } from './usage';

/**
 * Relays an upstream stream to the client: the provider's translator
 * (translator.ts) turns each upstream event into chunks, or a failure; the ingress
 * format's framer (framer.ts) turns each chunk into what its client reads.
 *
 * - Pull-driven: an upstream chunk is read only when the client wants more, and
 *   every complete event is forwarded at once (nothing is held back to batch).
 * - Usage is read from the stream for the log; the framer is told which chunk
 *   carries only usage (the one we asked for, which a client may not want).
 * - A stream that fails after it started (its translator's failure, a cut, a
 *   timeout) ends with the framer's one in-band error event, which clients
 *   raise; never a silent end.
 *   (workerd shows a client a clean end when a response stream errors, so erroring
 *   the stream itself would hide the failure.)
 * - Idle timeout: only data events count as progress; keep-alive comments do not.
 * - A chunk that is not a JSON object ends the stream with the error event
 *   (scan.ts), never as if it were complete.
 * - The call ends exactly once (`end` below), however the client leaves, and a
 *   stream the provider reported no usage for is counted by the gateway.
 */

const encoder = new TextEncoder();
/**
 * How long past its total timeout a stream may go without ending before the
 * backstop ends it: the attempt's own total timer aborts the upstream at
 * total_ms, so only a stream nobody pulls any more (the runtime dropped it
 * without cancel() or an error) is still open then.
 */
const BACKSTOP_MARGIN_MS = 2_000;

/** The serving attempt, as far as the relay needs it (routing/attempt.ts's Served). */
export interface RelaySource {
  target: Target;
  stream?: UpstreamStream | undefined;
  finish(): void;
  abort(): void;
  clientGone(): boolean;
  abortReason(): GatewayError | undefined;
}

export interface RelayOptions {
  served: RelaySource;
  record: CallRecord;
  /** The ingress format's framing of chunks, end and in-band error. */
  framer: StreamFramer;
  /** The request's signal: aborts when the client disconnects. */
  clientSignal: AbortSignal;
  /** The prompt's tokens as the limiter estimates them, for a stream the provider reports no usage for. */
  estimatePrompt: () => number;
  tap?: StreamTap | undefined;
  /** The call's output guardrails, between the translator and the framer (the tap sees what the client sees). */
  guard?: ChunkGuard | undefined;
  /** Told once, when the stream has ended in any way: the call's row and settlement wait for it. */
  onEnd: () => void;
}

/** How a stream ended: its terminator relayed, an in-band error event, or the client gone. */
type Ending = { kind: 'complete' } | { kind: 'failed'; error: GatewayError } | { kind: 'gone' };

const COMPLETE: Ending = { kind: 'complete' };
const GONE: Ending = { kind: 'gone' };
const failed = (error: GatewayError): Ending => ({ kind: 'failed', error });

export function relay({ served, record, framer, clientSignal, estimatePrompt, tap, guard, onEnd }: RelayOptions): ReadableStream<Uint8Array> {
  const { events, translator, first: firstChunks } = served.stream!;
  let first: readonly string[] | undefined = firstChunks;
  const idleMs = served.target.timeouts.idle_ms;
  const streamed: Streamed = { bytes: 0, events: 0 };
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let lastProgress = Date.now();
  let ended = false;

  /**
   * Ends the call exactly once, whatever comes first: the stream's own end, the
   * client's cancel(), the request's abort signal, or the backstop timer (workerd
   * can drop a response stream whose client left without calling cancel() or
   * erroring a pending read). The log row and the limiter's settlement wait for
   * onEnd, so every way out must come through here.
   */
  const end = (how: Ending): void => {
    if (ended) return;
    ended = true;
    clearTimeout(backstop);
    clientSignal.removeEventListener('abort', onAbort);
    tap?.end(how.kind === 'complete');
    if (how.kind === 'gone') {
      record.status = 499;
      record.errorCode = 'client_closed';
      record.streamCut = true;
      // Stop paying for tokens nobody reads.
      served.abort();
    } else if (how.kind === 'failed') {
      record.streamCut = true;
      record.errorCode = how.error.code;
    }
    try {
      if (how.kind === 'failed') controller.enqueue(encoder.encode(framer.error(how.error)));
      controller.close();
    } catch {
      // Already cancelled or dropped: nobody is reading.
    }
    countStreamed(record, streamed, estimatePrompt);
    served.finish();
    void events.cancel();
    onEnd();
  };
  const onAbort = () => end(GONE);
  clientSignal.addEventListener('abort', onAbort, { once: true });
  const backstop = setTimeout(
    () => end(served.clientGone() ? GONE : failed(new GatewayError('upstream_timeout', 'The stream outlived its total timeout'))),
    served.target.timeouts.total_ms + BACKSTOP_MARGIN_MS,
  );

  /** Forwards one chunk; true when something reached the client. */
  const forward = (chunk: string): boolean => {
    let data = chunk;
    lastProgress = Date.now();
    record.firstByteAt ??= lastProgress;
    if (data === DONE) {
      const done = framer.done();
      if (done) controller.enqueue(encoder.encode(done));
      end(COMPLETE);
      return true;
    }
    // An event may span several data: lines, joined with LF (WHATWG HTML,
    // "Server-sent events", dispatching an event). Relaying the LF would end our
    // data: line early; in JSON a raw LF can only be whitespace between tokens, so
    // a space keeps the value and makes it one line.
    if (data.includes('\n')) data = data.replaceAll('\n', ' ');
    const text = scanEvent(data);
    if (text < 0) {
      const detail = `Provider "${served.target.provider}" sent a stream event that is not JSON`;
      end(failed(new GatewayError('upstream_invalid_response', detail)));
      return true;
    }
    if (text > 0) {
      streamed.bytes += text;
      streamed.events++;
    }
    tap?.chunk(data);
    // Parsing every chunk would cost CPU on the hot path; only the rare chunks
    // that can carry usage are parsed.
    let usageOnly = false;
    if (data.includes('"usage"')) {
      const parsed = safeParse(data);
      const usage = readUsage(parsed?.usage);
      if (usage) {
        recordUsage(record, usage);
        usageOnly = Array.isArray(parsed?.choices) && parsed.choices.length === 0;
      }
    }
    const out = framer.chunk(data, usageOnly);
    if (!out) return false;
    controller.enqueue(encoder.encode(out));
    return true;
  };

  /** Forwards what the translator made of an event; true when something reached the client. */
  const take = (out: Translated): boolean => {
    if (out === null) return false;
    if (guard && !(out instanceof GatewayError)) return takeGuarded(guard, out);
    if (typeof out === 'string') return forward(out);
    if (out instanceof GatewayError) {
      end(failed(out));
      return true;
    }
    let delivered = false;
    for (const chunk of out) {
      delivered = forward(chunk) || delivered;
      if (ended) return true;
    }
    return delivered;
  };

  /** Chunks through the output guardrails: they may hold text back, rewrite it, or end the stream. */
  const takeGuarded = (guard: ChunkGuard, out: string | readonly string[]): boolean => {
    // Held back or not, the upstream is making progress.
    lastProgress = Date.now();
    let delivered = false;
    for (const chunk of typeof out === 'string' ? [out] : out) {
      const guarded = guard.push(chunk);
      if (guarded instanceof GatewayError) {
        end(failed(guarded));
        return true;
      }
      for (const c of guarded) {
        delivered = forward(c) || delivered;
        if (ended) return true;
      }
    }
    return delivered;
  };

  return new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      if (clientSignal.aborted) end(GONE);
    },
    async pull() {
      try {
        if (first) {
          // The attempt translated these while it checked the stream had started.
          const chunks = first;
          first = undefined;
          if (take(chunks) || ended) return;
        }
        for (;;) {
          const batch = await events.nextWithin(lastProgress + idleMs - Date.now());
          if (ended) return;
          if (batch === 'idle') {
            return end(failed(new GatewayError('upstream_timeout', `The provider sent nothing for ${idleMs} ms`)));
          }
          let delivered = false;
          for (const event of batch.events) {
            delivered = take(translator.push(event)) || delivered;
            if (ended) return;
          }
          if (batch.done) {
            take(translator.end());
            if (ended) return;
            return end(failed(new GatewayError('stream_cut', 'The provider closed the stream before it finished')));
          }
          if (delivered) return;
        }
      } catch {
        if (ended) return;
        // workerd aborts our upstream read when the client disconnects, which can
        // arrive here before cancel() does.
        if (served.clientGone()) return end(GONE);
        end(failed(served.abortReason() ?? new GatewayError('stream_cut', 'The connection to the provider broke mid-stream')));
      }
    },
    cancel: () => end(GONE),
  });
}

type Chunk = { choices?: unknown[]; usage?: unknown };

function safeParse(data: string): Chunk | undefined {
  try {
    const value = JSON.parse(data) as unknown;
    return typeof value === 'object' && value !== null ? (value as Chunk) : undefined;
  } catch {
    return undefined;
  }
}
