import { type Env, secret } from '../env';
import { GatewayError } from '../errors';
import type { JsonObject } from '../http/body';
import type { CallRecord } from '../logging/call-record';
import type { Endpoint, Provider, Target, UpstreamCall } from '../providers/provider';
import { providerFor } from '../providers/registry';
import { scrub, upstreamError } from '../providers/upstream-error';
import type { Route } from './resolve';

/**
 * Walks a route's targets in order until one serves the call. A target is left for
 * the next on a retryable failure (network error, timeout, 5xx, 429, bad body);
 * anything else (a 400 the caller caused) ends the walk at once.
 *
 * Timeouts per target: first byte (until response headers) and total (the whole
 * call, a stream's body included, so its timer lives until `finish()`).
 */

export interface DispatchInput {
  endpoint: Endpoint;
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

export async function dispatch(input: DispatchInput, route: Route): Promise<Served> {
  let lastError: GatewayError | undefined;
  for (const target of route.targets) {
    input.record.provider = target.provider;
    input.record.upstreamModel = target.model;
    const provider = providerFor(target.config.kind);
    if (!provider.supports(input.endpoint)) {
      lastError = new GatewayError('unsupported_endpoint', `Provider "${target.provider}" does not serve ${input.endpoint}`, {
        param: 'model',
      });
      continue;
    }
    try {
      return await attempt(input, target, provider);
    } catch (error) {
      if (!(error instanceof GatewayError) || !error.retryable) throw error;
      lastError = error;
    }
  }
  throw lastError ?? new GatewayError('upstream_failed', 'No target could serve this model');
}

async function attempt(input: DispatchInput, target: Target, provider: Provider): Promise<Served> {
  input.record.attempts++;
  const { first_byte_ms, total_ms } = target.timeouts;
  const controller = new AbortController();
  const timeout = (what: string, ms: number) => () =>
    controller.abort(new GatewayError('upstream_timeout', `Provider "${target.provider}" timed out (${what}, ${ms} ms)`, { retryable: true }));
  const firstByteTimer = setTimeout(timeout('first byte', first_byte_ms), first_byte_ms);
  const totalTimer = setTimeout(timeout('total', total_ms), total_ms);
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
    if (credentialName && !credential) {
      console.error(`provider "${target.provider}": secret ${credentialName} is not set`);
      throw new GatewayError('upstream_failed', `Provider "${target.provider}" has no credential configured`, { retryable: true });
    }
    const response = await provider.send(call);
    clearTimeout(firstByteTimer);
    input.record.firstByteAt = Date.now();
    if (!response.ok) throw await upstreamError(response, target, credential);

    const served: Served = {
      target,
      provider,
      call,
      response,
      finish,
      abort: () => controller.abort(),
      clientGone: () => input.clientSignal.aborted,
      abortReason,
      describeFailure: (detail) => `Provider "${target.provider}" failed mid-stream${detail ? `: ${detail.slice(0, 200)}` : ''}`,
    };
    if (input.stream) {
      if (!response.body) throw new GatewayError('upstream_invalid_response', 'The provider sent an empty stream', { retryable: true });
      return served;
    }
    const text = await response.text();
    const json = parseJson(text, target);
    served.json = provider.toOpenAI(call, json);
    if (served.json === json) served.text = text;
    finish();
    return served;
  } catch (error) {
    finish();
    if (input.clientSignal.aborted) {
      throw new GatewayError('client_closed', 'The client closed the connection');
    }
    throw abortReason() ?? asUpstreamFailure(error, target);
  }
}

function parseJson(text: string, target: Target): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayError('upstream_invalid_response', `Provider "${target.provider}" answered with invalid JSON`, {
      retryable: true,
    });
  }
}

function asUpstreamFailure(error: unknown, target: Target): GatewayError {
  if (error instanceof GatewayError) return error;
  // fetch() rejections can carry the URL (and credentials in it): the client gets
  // none of it, and the operator's log a scrubbed copy.
  console.error(`provider "${target.provider}": ${scrub(error instanceof Error ? error.message : String(error))}`);
  return new GatewayError('upstream_failed', `Provider "${target.provider}" could not be reached`, { retryable: true });
}
