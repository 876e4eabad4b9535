import { GatewayError, toErrorBody } from '../errors';
import type { CallRecord } from '../logging/call-record';
import type { Served } from '../routing/dispatch';
import { readUsage, recordUsage } from './usage';
import { SseParser, type SseEvent } from './sse';

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
 */

const encoder = new TextEncoder();
const DONE = encoder.encode('data: [DONE]\n\n');

/** Sees every chunk the upstream sent (usage included), then whether the stream ended properly. */
export interface StreamTap {
  chunk(data: string): void;
  end(complete: boolean): void;
}

export interface RelayOptions {
  served: Served;
  record: CallRecord;
  clientWantsUsage: boolean;
  tap?: StreamTap | undefined;
}

export function relay({ served, record, clientWantsUsage, tap }: RelayOptions): ReadableStream<Uint8Array> {
  const { call, provider } = served;
  const idleMs = call.target.timeouts.idle_ms;
  const reader = served.body!.getReader();
  const parser = new SseParser();
  const decoder = new TextDecoder();
  let lastProgress = Date.now();
  let sawFinish = false;
  let ended = false;
  let bodyDone!: () => void;
  record.bodyDone = new Promise<void>((resolve) => {
    bodyDone = resolve;
  });

  const end = (controller: ReadableStreamDefaultController<Uint8Array>, error?: GatewayError) => {
    if (ended) return;
    ended = true;
    tap?.end(!error);
    if (error) {
      record.streamCut = true;
      record.errorCode = error.code;
      controller.enqueue(encoder.encode(`data: ${JSON.stringify(toErrorBody(error))}\n\n`));
    }
    controller.close();
    served.finish();
    bodyDone();
    reader.cancel().catch(() => {});
  };

  /** The client went away: stop paying for tokens nobody reads. */
  const clientClosed = () => {
    if (ended) return;
    ended = true;
    tap?.end(false);
    record.status = 499;
    record.errorCode = 'client_closed';
    record.streamCut = true;
    served.abort();
    served.finish();
    bodyDone();
    reader.cancel().catch(() => {});
  };

  /** Forwards one event; true when something reached the client. */
  const forward = (event: SseEvent, controller: ReadableStreamDefaultController<Uint8Array>): boolean => {
    const data = provider.fromStreamEvent(call, event);
    if (data === null) return false;
    lastProgress = Date.now();
    record.firstByteAt ??= lastProgress;
    if (data === '[DONE]') {
      controller.enqueue(DONE);
      end(controller);
      return true;
    }
    tap?.chunk(data);
    // Parsing every chunk would cost CPU on the hot path; only the rare chunks
    // that can carry an error or usage are parsed.
    if (data.includes('"error"') || data.includes('"usage"')) {
      const chunk = safeParse(data);
      if (chunk?.error && !chunk.choices) {
        end(controller, upstreamStreamError(chunk.error, served));
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
    async pull(controller) {
      try {
        for (;;) {
          const result = await readWithin(reader, lastProgress + idleMs - Date.now());
          if (result === 'idle') {
            return end(controller, new GatewayError('upstream_timeout', `The provider sent nothing for ${idleMs} ms`));
          }
          const events = result.done ? parser.end() : parser.push(decoder.decode(result.value, { stream: true }));
          let delivered = false;
          for (const event of events) {
            delivered = forward(event, controller) || delivered;
            if (ended) return;
          }
          if (result.done) {
            // Some OpenAI-compatible servers omit [DONE] after a proper finish.
            if (sawFinish) {
              controller.enqueue(DONE);
              return end(controller);
            }
            return end(controller, new GatewayError('stream_cut', 'The provider closed the stream before it finished'));
          }
          if (delivered) return;
        }
      } catch {
        if (ended) return;
        // workerd aborts our upstream read when the client disconnects, which can
        // arrive here before cancel() does.
        if (served.clientGone()) return clientClosed();
        const reason = served.abortReason();
        end(controller, reason ?? new GatewayError('stream_cut', 'The connection to the provider broke mid-stream'));
      }
    },
    cancel: clientClosed,
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
