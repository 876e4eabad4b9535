import { type Env, secret } from '../env';
import { GatewayError } from '../errors';
import type { CallRecord } from '../logging/call-record';
import { fetchUpstream, type Provider, type UpstreamCall } from '../providers/provider';
import { scrub } from '../providers/scrub';
import { UpstreamEvents } from '../streaming/event-reader';
import { scanEvent } from '../streaming/scan';
import type { StreamTranslator, Translated, UpstreamStream } from '../streaming/translator';
import { chaosFailure, type ChaosMode } from './chaos';
import { guardUpstream } from './upstream-guard';
import { readErrorBody, readUpstreamBody, redirected, tooLarge } from './upstream-body';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
import type { Target } from '../core/target';

/**
 * One attempt: one upstream call to one target, under its timeouts (capped by the
 * call's deadline). The provider builds the request, makes the call (fetch unless
 * it sends its own way), and reads the answer or the error; this module holds the
 * timers and the transport guards (redirects, size caps). First byte means the
 * response headers and, for a stream, its first translated chunk: a stream that
 * answers 200 and then fails, or ends, before any chunk is still a failed
 * attempt, which routing can retry or fail over.
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
  /** For streams: what to relay, its first chunk already translated. */
  stream?: UpstreamStream;
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
  /** Response headers have arrived: from then on a failure is a bad answer, not an unreachable target. */
  let answered = false;
  const guard = guardUpstream(
    input.clientSignal,
    { firstByteMs, totalMs, totalName: totalMs < target.timeouts.total_ms ? 'deadline' : 'total' },
    (what, ms) => new GatewayError('upstream_timeout', `Provider "${target.provider}" timed out (${what}, ${ms} ms)`, { retryable: true, unreachable: !answered }),
  );
  const { controller, finish } = guard;
  const abortReason = () => (controller.signal.reason instanceof GatewayError ? controller.signal.reason : undefined);

  const credentialName = target.config.api_key_secret;
  const credential = credentialName ? secret(input.env, credentialName) : undefined;
  const call: UpstreamCall = {
    operation: input.endpoint,
    body: input.body,
    stream: input.stream,
    target,
    credential,
    requestId: input.requestId,
    signal: controller.signal,
  };

  try {
    if (chaos && !(chaos === 'cut-stream' && input.stream)) throw chaosFailure(chaos, target);
    if (credentialName && !credential) {
      console.error(`provider "${target.provider}": secret ${credentialName} is not set`);
      throw new GatewayError('upstream_failed', `Provider "${target.provider}" has no credential configured`, { failover: true });
    }
    const request = provider.buildRequest(call);
    const response = await (provider.send ? provider.send(request, call, input.env) : fetchUpstream(request, call));
    answered = true;
    if (response.status >= 300 && response.status < 400) throw redirected(response, target);
    if (!response.ok) throw provider.parseError(call, response.status, response.headers, await readErrorBody(response));

    const served: Served = {
      target,
      provider,
      call,
      response,
      finish,
      abort: () => controller.abort(),
      clientGone: () => input.clientSignal.aborted,
      abortReason,
    };
    if (input.stream) {
      served.stream = await firstChunk(response, target, provider.streamTranslator(call), chaos === 'cut-stream');
    } else {
      guard.firstByte();
      const text = await readUpstreamBody(response, target, guard.timeout('idle', target.timeouts.idle_ms));
      const json = parseJson(text, target);
      served.json = provider.parseResponse(call, json);
      if (served.json === json) served.text = text;
      finish();
    }
    guard.firstByte();
    input.record.firstByteAt = Date.now();
    return served;
  } catch (error) {
    finish();
    if (input.clientSignal.aborted) throw new GatewayError('client_closed', 'The client closed the connection');
    throw abortReason() ?? asUpstreamFailure(error, target, answered);
  }
}

/**
 * Reads and translates a stream up to its first chunk. Events read past it wait,
 * untranslated, for the relay. A failure or an end before any chunk fails the
 * attempt (nothing has reached the client yet, so it can still be retried).
 */
async function firstChunk(response: Response, target: Target, translator: StreamTranslator, cutAfterFirst: boolean): Promise<UpstreamStream> {
  if (!response.body) throw new GatewayError('upstream_invalid_response', 'The provider sent an empty stream', { retryable: true });
  const events = new UpstreamEvents(response.body.getReader());
  for (;;) {
    // No idle limit of its own: the first-byte timer aborts the read.
    const batch = await events.next();
    if (events.bytes > target.maxResponseBytes) {
      await events.cancel();
      throw tooLarge(target);
    }
    for (let i = 0; i < batch.events.length; i++) {
      const first = await chunksOrThrow(translator.push(batch.events[i]!), events, target);
      if (first) {
        events.hold(batch.events.slice(i + 1), cutAfterFirst);
        return { events, translator, first };
      }
    }
    if (batch.done) {
      const first = await chunksOrThrow(translator.end(), events, target);
      if (first) return { events, translator, first };
      throw new GatewayError('upstream_failed', `Provider "${target.provider}" ended its stream before any data`, { retryable: true });
    }
  }
}

/** The chunks a translation gave, or undefined for none; a failure, or a first chunk that is not JSON, is thrown. */
async function chunksOrThrow(out: Translated, events: UpstreamEvents, target: Target): Promise<readonly string[] | undefined> {
  if (out instanceof GatewayError) {
    await events.cancel();
    throw out;
  }
  const chunks = out === null ? [] : typeof out === 'string' ? [out] : out;
  if (chunks.length === 0) return undefined;
  // A first chunk that is not JSON fails the attempt while it can still be retried.
  if (scanEvent(chunks[0]!) < 0) {
    await events.cancel();
    throw new GatewayError('upstream_invalid_response', `Provider "${target.provider}" began its stream with an event that is not JSON`, { retryable: true });
  }
  return chunks;
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
