import { GatewayError } from '../errors';
import type { CallRecord } from '../logging/call-record';
import { countStreamed, recordUsage } from '../streaming/usage';
import type { AnswerCapture } from './payload';
import type { UsageTap } from './usage';

/**
 * Relays a passthrough answer's body to the client chunk for chunk, unchanged (the
 * tap reads usage on the side), and ends the call exactly once however the body
 * ends: complete, the provider breaking off or timing out (total_ms), or the client
 * leaving. The client's abort signal and the total timer end it too, because
 * workerd can drop a response stream whose client left without calling cancel().
 * A body that fails midway is errored, not closed, so the client sees it cut.
 */

export interface RelayInput {
  body: ReadableStream<Uint8Array>;
  tap: UsageTap;
  /** The answer for the payload log, when the call logs payloads. */
  answer?: AnswerCapture | undefined;
  record: CallRecord;
  provider: string;
  /** Aborted with a GatewayError when a timeout fires, or when the client leaves. */
  upstream: AbortController;
  clientSignal: AbortSignal;
  /** Stops the timers. */
  finish(): void;
  /** Ends the call: its row is written and its reservation settled. */
  done(): void;
  /** The prompt's tokens as the limiter estimates them, for a body that reported no usage. */
  estimatePrompt(): number;
}

type Ending = 'complete' | 'gone' | GatewayError;

export function relayBody({ body, tap, answer, record, provider, upstream, clientSignal, finish, done, estimatePrompt }: RelayInput): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let downstream!: ReadableStreamDefaultController<Uint8Array>;
  let ended = false;

  const end = (how: Ending): void => {
    if (ended) return;
    ended = true;
    finish();
    clientSignal.removeEventListener('abort', onGone);
    upstream.signal.removeEventListener('abort', onAborted);
    if (how === 'complete') tap.end();
    else {
      record.streamCut = true;
      if (how === 'gone') {
        record.status = 499;
        record.errorCode = 'client_closed';
      } else record.errorCode = how.code;
      // Stop paying for what nobody reads.
      upstream.abort();
      void reader.cancel().catch(() => {});
      try {
        // Errored, not closed: a cut body must not look complete (workerd reports the error in the Worker's log).
        if (how === 'gone') downstream.close();
        else downstream.error(new Error(how.message));
      } catch {
        // Already cancelled or dropped.
      }
    }
    answer?.end(how === 'complete');
    const usage = tap.usage();
    if (usage) recordUsage(record, usage);
    // A stream, or any body cut short: the provider billed something; count what went by.
    else if (tap.kind === 'sse' || how !== 'complete') countStreamed(record, tap.streamed, estimatePrompt);
    done();
  };
  const onGone = () => end('gone');
  const onAborted = () => {
    if (clientSignal.aborted) return end('gone');
    end(upstream.signal.reason instanceof GatewayError ? upstream.signal.reason : new GatewayError('upstream_timeout', `Provider "${provider}" timed out`));
  };
  clientSignal.addEventListener('abort', onGone, { once: true });
  upstream.signal.addEventListener('abort', onAborted, { once: true });

  return new ReadableStream<Uint8Array>({
    start(controller) {
      downstream = controller;
    },
    async pull(controller) {
      try {
        const { done: finished, value } = await reader.read();
        if (ended) return;
        if (finished) {
          end('complete');
          controller.close();
          return;
        }
        tap.push(value);
        answer?.push(value);
        controller.enqueue(value);
      } catch {
        if (ended) return;
        if (clientSignal.aborted) return end('gone');
        end(new GatewayError('stream_cut', `Provider "${provider}" broke off its answer`));
      }
    },
    cancel: () => end('gone'),
  });
}
