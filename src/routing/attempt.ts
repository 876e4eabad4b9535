import { type Env, secret } from '../env';
import { GatewayError } from '../errors';
import type { CallRecord } from '../logging/call-record';
import type { Provider, UpstreamCall } from '../providers/provider';
import { scrub, upstreamError } from '../providers/upstream-error';
import { scanEvent } from '../streaming/scan';
import { SseParser } from '../streaming/sse';
import { chaosFailure, type ChaosMode } from './chaos';
import { checkAnswerShape, readUpstreamBody, redirected, tooLarge } from './upstream-body';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
import type { Target } from '../core/target';

/**
 * One attempt: one upstream call to one target, under its timeouts (capped by the
 * call's deadline). First byte means the response headers and, for a stream, its
 * first event: a stream that answers 200 and then fails or sends an error before
 * any data is still a failed attempt, which routing can retry or fail over.
 */

export interface AttemptInput {
  endpoint: Operation;
  body: JsonObject;
  stream: boolean;
  requestId: string;
  env: Env;
  /** Aborts when the client disconnects. */
  clientSignal: AbortSignal;
  record: CallRecord;
}

export interface Served {
  target: Target;
  provider: Provider;
  call: UpstreamCall;
  response: Response;
  /** For streams: the body to relay (its first event already read, and put back). */
  body: ReadableStream<Uint8Array> | null;
  /** For non-stream calls: the OpenAI-shaped body, already read. */
  json?: JsonObject;
  /** The upstream's own bytes, when `json` is exactly what it sent (no re-serializing). */
  text?: string;
  /** Stops the total-time timer; call when the body is done. */
  finish(): void;
  /** Aborts the upstream call (the client went away). */
  abort(): void;
  /** Whether the client has disconnected. */
  clientGone(): boolean;
  /** Why the upstream call was aborted by us, if it was (a timeout). */
  abortReason(): GatewayError | undefined;
  describeFailure(detail: string): string;
}

export async function attempt(
  input: AttemptInput,
  target: Target,
  provider: Provider,
  deadline: number,
  chaos: ChaosMode | undefined,
): Promise<Served> {
  const remaining = Math.max(1, deadline - Date.now());
  const firstByteMs = Math.min(target.timeouts.first_byte_ms, remaining);
  const totalMs = Math.min(target.timeouts.total_ms, remaining);
  const controller = new AbortController();
  /** Response headers have arrived: from then on a failure is a bad answer, not an unreachable target. */
  let answered = false;
  const timeout = (what: string, ms: number) => () =>
    controller.abort(new GatewayError('upstream_timeout', `Provider "${target.provider}" timed out (${what}, ${ms} ms)`, { retryable: true, unreachable: !answered }));
  const firstByteTimer = setTimeout(timeout('first byte', firstByteMs), firstByteMs);
  const totalTimer = setTimeout(timeout(totalMs < target.timeouts.total_ms ? 'deadline' : 'total', totalMs), totalMs);
  const finish = () => {
    clearTimeout(firstByteTimer);
    clearTimeout(totalTimer);
  };
  const abortReason = () => (controller.signal.reason instanceof GatewayError ? controller.signal.reason : undefined);

  const credentialName = target.config.api_key_secret;
  const credential = credentialName ? secret(input.env, credentialName) : undefined;
  const call: UpstreamCall = {
    endpoint: input.endpoint,
    body: input.body,
    stream: input.stream,
    target,
    credential,
    requestId: input.requestId,
    signal: AbortSignal.any([input.clientSignal, controller.signal]),
  };

  try {
    if (chaos && !(chaos === 'cut-stream' && input.stream)) throw chaosFailure(chaos, target);
    if (credentialName && !credential) {
      console.error(`provider "${target.provider}": secret ${credentialName} is not set`);
      throw new GatewayError('upstream_failed', `Provider "${target.provider}" has no credential configured`, { failover: true });
    }
    const response = await provider.send(call);
    answered = true;
    if (response.status >= 300 && response.status < 400) throw redirected(response, target);
    if (!response.ok) throw await upstreamError(response, target, credential);

    const served: Served = {
      target,
      provider,
      call,
      response,
      body: null,
      finish,
      abort: () => controller.abort(),
      clientGone: () => input.clientSignal.aborted,
      abortReason,
      describeFailure: (detail) => `Provider "${target.provider}" failed mid-stream${detail ? `: ${scrub(detail).slice(0, 200)}` : ''}`,
    };
    if (input.stream) {
      served.body = await firstEvent(response, target, chaos === 'cut-stream');
    } else {
      clearTimeout(firstByteTimer);
      const text = await readUpstreamBody(response, target, timeout('idle', target.timeouts.idle_ms));
      const json = parseJson(text, target);
      served.json = provider.toOpenAI(call, json);
      checkAnswerShape(input.endpoint, served.json, target);
      if (served.json === json) served.text = text;
      finish();
    }
    clearTimeout(firstByteTimer);
    input.record.firstByteAt = Date.now();
    return served;
  } catch (error) {
    finish();
    if (input.clientSignal.aborted) throw new GatewayError('client_closed', 'The client closed the connection');
    throw abortReason() ?? asUpstreamFailure(error, target, answered);
  }
}

/**
 * Reads a stream up to its first event and hands back a stream that replays what
 * was read, then continues. An error event or an end before any data fails the
 * attempt (nothing has reached the client yet, so it can still be retried).
 */
async function firstEvent(response: Response, target: Target, cutAfterFirst: boolean): Promise<ReadableStream<Uint8Array>> {
  if (!response.body) throw new GatewayError('upstream_invalid_response', 'The provider sent an empty stream', { retryable: true });
  const reader = response.body.getReader();
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const read: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new GatewayError('upstream_failed', `Provider "${target.provider}" ended its stream before any data`, { retryable: true });
    read.push(value);
    size += value.byteLength;
    if (size > target.maxResponseBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(target);
    }
    const [first] = parser.push(decoder.decode(value, { stream: true }));
    if (!first) continue;
    if (first.data.startsWith('{"error"') || /^\{\s*"error"\s*:/.test(first.data)) {
      await reader.cancel().catch(() => {});
      const message = safeMessage(first.data);
      throw new GatewayError('upstream_failed', `Provider "${target.provider}" sent an error before any data${message ? `: ${scrub(message)}` : ''}`, { retryable: true });
    }
    // Nothing has reached the client yet: a first event that is not a chunk fails the attempt, which can be retried.
    if (scanEvent(first.data) < 0) {
      await reader.cancel().catch(() => {});
      throw new GatewayError('upstream_invalid_response', `Provider "${target.provider}" began its stream with an event that is not JSON`, { retryable: true });
    }
    break;
  }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = read.shift();
      if (next) return controller.enqueue(next);
      if (cutAfterFirst) {
        await reader.cancel().catch(() => {});
        return controller.error(new Error('stream cut (simulated by x-gateway-chaos)'));
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

function safeMessage(data: string): string {
  try {
    const message = (JSON.parse(data) as { error?: { message?: unknown } }).error?.message;
    return typeof message === 'string' ? message : '';
  } catch {
    return '';
  }
}

function parseJson(text: string, target: Target): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayError('upstream_invalid_response', `Provider "${target.provider}" answered with invalid JSON`, { failover: true });
  }
}

function asUpstreamFailure(error: unknown, target: Target, answered: boolean): GatewayError {
  if (error instanceof GatewayError) return error;
  // fetch() rejections can carry the URL (and credentials in it): the client gets
  // none of it, and the operator's log a scrubbed copy.
  console.error(`provider "${target.provider}": ${scrub(error instanceof Error ? error.message : String(error))}`);
  if (answered) return new GatewayError('upstream_failed', `Provider "${target.provider}" broke off its answer`, { retryable: true });
  return new GatewayError('upstream_failed', `Provider "${target.provider}" could not be reached`, { retryable: true, unreachable: true });
}
