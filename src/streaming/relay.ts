import { GatewayError, toErrorBody } from '../errors';
import type { CallRecord } from '../logging/call-record';
import type { Served } from '../routing/dispatch';
import { scanEvent } from './scan';
import { SseParser, type SseEvent } from './sse';
import { countStreamed, readUsage, recordUsage, type Streamed } from './usage';

/**
 * Relays an upstream SSE stream to the client as OpenAI chat/completion chunks.
 *
 * - Pull-driven: an upstream chunk is read only when the client wants more, and
 *   every complete event is forwarded at once (nothing is held back to batch).
 * - Usage is read from the stream for the log; the usage-only chunk we asked for is
 *   dropped again when the client did not ask for it.
 * - A stream that fails after it started ends with one in-band error event
 *   (`data: {"error":{...}}`), which the openai client raises; never a silent end.
 *   (workerd shows a client a clean end when a response stream errors, so erroring
 *   the stream itself would hide the failure.)
 * - Idle timeout: only data events count as progress; keep-alive comments do not.
 * - Each event goes out as one `data:` line; an event that is not a JSON object
 *   ends the stream with the error event (scan.ts), never as if it were complete.
 * - The call ends exactly once (`end` below), however the client leaves, and a
 *   stream the provider reported no usage for is counted by the gateway.
 */

const encoder = new TextEncoder();
const DONE = encoder.encode('data: [DONE]\n\n');
/**
 * How long past its total timeout a stream may go without ending before the
 * backstop ends it: the attempt's own total timer aborts the upstream at
 * total_ms, so only a stream nobody pulls any more (the runtime dropped it
 * without cancel() or an error) is still open then.
 */
const BACKSTOP_MARGIN_MS = 2_000;

/** Sees every chunk the upstream sent (usage included), then whether the stream ended properly. */
export interface StreamTap {
  chunk(data: string): void;
  end(complete: boolean): void;
}

export interface RelayOptions {
  served: Served;
  record: CallRecord;
  clientWantsUsage: boolean;
  /** The request's signal: aborts when the client disconnects. */
  clientSignal: AbortSignal;
  /** The prompt's tokens as the limiter estimates them, for a stream the provider reports no usage for. */
  estimatePrompt: () => number;
  tap?: StreamTap | undefined;
}

/** How a stream ended: its terminator relayed, an in-band error event, or the client gone. */
type Ending = { kind: 'complete' } | { kind: 'failed'; error: GatewayError } | { kind: 'gone' };

const COMPLETE: Ending = { kind: 'complete' };
const GONE: Ending = { kind: 'gone' };
const failed = (error: GatewayError): Ending => ({ kind: 'failed', error });

export function relay({ served, record, clientWantsUsage, clientSignal, estimatePrompt, tap }: RelayOptions): ReadableStream<Uint8Array> {
  const { call, provider } = served;
  const idleMs = call.target.timeouts.idle_ms;
  const reader = served.body!.getReader();
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const streamed: Streamed = { bytes: 0, events: 0 };
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let lastProgress = Date.now();
  let sawFinish = false;
  let ended = false;
  let bodyDone!: () => void;
  record.bodyDone = new Promise<void>((resolve) => {
    bodyDone = resolve;
  });

  /**
   * Ends the call exactly once, whatever comes first: the stream's own end, the
   * client's cancel(), the request's abort signal, or the backstop timer (workerd
   * can drop a response stream whose client left without calling cancel() or
   * erroring a pending read). The log row and the limiter's settlement wait on
   * bodyDone, so every way out must come through here.
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
      if (how.kind === 'failed') controller.enqueue(encoder.encode(`data: ${JSON.stringify(toErrorBody(how.error))}\n\n`));
      controller.close();
    } catch {
      // Already cancelled or dropped: nobody is reading.
    }
    countStreamed(record, streamed, estimatePrompt);
    served.finish();
    reader.cancel().catch(() => {});
    bodyDone();
  };
  const onAbort = () => end(GONE);
  clientSignal.addEventListener('abort', onAbort, { once: true });
  const backstop = setTimeout(
    () => end(served.clientGone() ? GONE : failed(new GatewayError('upstream_timeout', 'The stream outlived its total timeout'))),
    call.target.timeouts.total_ms + BACKSTOP_MARGIN_MS,
  );

  /** Forwards one event; true when something reached the client. */
  const forward = (event: SseEvent): boolean => {
    let data = provider.fromStreamEvent(call, event);
    if (data === null) return false;
    lastProgress = Date.now();
    record.firstByteAt ??= lastProgress;
    if (data === '[DONE]') {
      controller.enqueue(DONE);
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
    // that can carry an error or usage are parsed.
    if (data.includes('"error"') || data.includes('"usage"')) {
      const chunk = safeParse(data);
      if (chunk?.error && !chunk.choices) {
        end(failed(upstreamStreamError(chunk.error, served)));
        return true;
      }
      const usage = readUsage(chunk?.usage);
      if (usage) {
        recordUsage(record, usage);
        if (!clientWantsUsage && Array.isArray(chunk?.choices) && chunk.choices.length === 0) return false;
      }
    }
    if (!sawFinish && data.includes('"finish_reason":"')) sawFinish = true;
    controller.enqueue(encoder.encode(`data: ${data}\n\n`));
    return true;
  };

  return new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      if (clientSignal.aborted) end(GONE);
    },
    async pull() {
      try {
        for (;;) {
          const result = await readWithin(reader, lastProgress + idleMs - Date.now());
          if (ended) return;
          if (result === 'idle') {
            return end(failed(new GatewayError('upstream_timeout', `The provider sent nothing for ${idleMs} ms`)));
          }
          const events = result.done ? parser.end() : parser.push(decoder.decode(result.value, { stream: true }));
          let delivered = false;
          for (const event of events) {
            delivered = forward(event) || delivered;
            if (ended) return;
          }
          if (result.done) {
            // Some OpenAI-compatible servers omit [DONE] after a proper finish.
            if (sawFinish) {
              controller.enqueue(DONE);
              return end(COMPLETE);
            }
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

async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  ms: number,
): Promise<ReadableStreamReadResult<Uint8Array> | 'idle'> {
  if (ms <= 0) return 'idle';
  let timer: ReturnType<typeof setTimeout> | undefined;
  const idle = new Promise<'idle'>((resolve) => {
    timer = setTimeout(() => resolve('idle'), ms);
  });
  try {
    return await Promise.race([reader.read(), idle]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

type Chunk = { error?: unknown; choices?: unknown[]; usage?: unknown };

function safeParse(data: string): Chunk | undefined {
  try {
    const value = JSON.parse(data) as unknown;
    return typeof value === 'object' && value !== null ? (value as Chunk) : undefined;
  } catch {
    return undefined;
  }
}

function upstreamStreamError(error: unknown, served: Served): GatewayError {
  const message = typeof (error as { message?: unknown }).message === 'string' ? (error as { message: string }).message : '';
  return new GatewayError('stream_cut', served.describeFailure(message));
}
