import type { Caller } from '../auth/key-ring';
import type { ProviderSettings } from '../config/provider-schema';
import type { GatewayConfig, KeyConfig } from '../config/schema';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
import type { Route } from '../core/target';
import { type Env, secret } from '../env';
import { GatewayError } from '../errors';
import { admit, type Admission } from '../limits/admission';
import { estimateTokens } from '../limits/estimate';
import type { CallRecord } from '../logging/call-record';
import type { Passthrough } from '../providers/provider';
import { providerFor } from '../providers/registry';
import { scrub } from '../providers/scrub';
import { providerRoute } from '../routing/resolve';
import { readErrorBody } from '../routing/upstream-body';
import { guardUpstream } from '../routing/upstream-guard';
import { downstreamHeaders, upstreamHeaders } from './headers';
import { forwardedQuery, upstreamUrl } from './path';
import { relayBody } from './relay';
import { AnswerCapture, capturePassthrough } from './payload';
import { bodyKind, UsageTap } from './usage';

/**
 * Provider-native passthrough: `/{provider}/{path}` is forwarded to the provider's
 * own API, unread, with the gateway's key auth, limits, logging and the provider's
 * credential. What the gateway does not do, because it does not understand the
 * payload: no cache, no retries and no failover (it cannot tell a safe retry from a
 * second image, a second upload or a second fine-tune job, nor what another
 * provider would make of the body), no breaker or back-off bookkeeping.
 *
 * Upstream answers go back as the provider sent them (status, body, safe headers),
 * errors included, so a native SDK reads them as it would from the provider, with two
 * exceptions: a redirect is never followed nor passed on (502: its Location could
 * point anywhere, and a client following it would send its gateway key there), and
 * the provider refusing the gateway's credential (401) is the gateway's failure, not
 * the caller's (502 `upstream_credential_rejected`). The gateway's own refusals are
 * OpenAI-shaped like everywhere else.
 */

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** Statuses whose response has no body (a Response with one would throw). */
const NULL_BODY = new Set([204, 205, 304]);
/** The model the D1 row names when the body names none (and the price `provider/*` a budgeted key needs). */
const ANY_MODEL = '*';

export function mayPassthrough(policy: KeyConfig, provider: string): boolean {
  return policy.passthrough.includes('*') || policy.passthrough.includes(provider);
}

export interface Prepared {
  provider: string;
  settings: ProviderSettings;
  passthrough: Passthrough;
  url: string;
  method: string;
}

/** Everything that can refuse the call before its body is read: permission, the kind, the method, the path. */
export function preparePassthrough(env: Env, config: GatewayConfig, caller: Caller, provider: string, method: string, path: string, search: string, callerKey: string | undefined): Prepared {
  if (!mayPassthrough(caller.policy, provider)) {
    throw new GatewayError('passthrough_not_allowed', `This key may not call provider "${provider}"'s own API (its keys.<id>.passthrough does not list it)`);
  }
  const settings = config.providers[provider]!;
  const passthrough = providerFor(settings.kind).passthrough;
  if (!passthrough) {
    throw new GatewayError('unknown_url', `Provider "${provider}" is of kind "${settings.kind}", which has no native passthrough`);
  }
  if (!METHODS.has(method)) {
    throw new GatewayError('method_not_allowed', `Method ${method} is not forwarded; use ${[...METHODS].join(', ')}`, { headers: { allow: [...METHODS].join(', ') } });
  }
  return { provider, settings, passthrough, url: upstreamUrl(passthrough.root(settings, env), path, forwardedQuery(search, callerKey)), method };
}

export interface ForwardInput {
  env: Env;
  ctx: { waitUntil(promise: Promise<unknown>): void };
  config: GatewayConfig;
  caller: Caller;
  record: CallRecord;
  request: Request;
  /** The request body as read under `max_body_bytes`; null for none. */
  body: Uint8Array | null;
  onAdmitted(admission: Admission): void;
  /** The call log middleware's: the call ends when the returned function is called. */
  endLater(): () => void;
}

const decoder = new TextDecoder();

/** What limits and the log see of a body the gateway does not read: its model, whether it streams, and a body to estimate tokens from. */
export interface Estimation {
  model: string;
  stream: boolean;
  /** With `body`: what limits/estimate.ts counts (an empty embeddings call counts nothing). */
  endpoint: Operation;
  body: JsonObject;
  /** The request body, when it is a JSON object (for payload logs). */
  json?: JsonObject;
}

export function estimation(body: Uint8Array | null, contentType: string | null): Estimation {
  if (!body || body.byteLength === 0 || bodyKind(contentType) !== 'json') return { model: ANY_MODEL, stream: false, endpoint: 'embeddings', body: {} };
  const text = decoder.decode(body);
  let json: JsonObject = {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) json = parsed as JsonObject;
  } catch {
    // Forwarded as sent: the provider answers it.
  }
  const model = typeof json.model === 'string' && json.model.trim() !== '' && json.model.length <= 256 ? json.model : ANY_MODEL;
  const generation = json.generationConfig as JsonObject | undefined;
  const cap = [json.max_tokens, json.max_completion_tokens, json.max_output_tokens, generation?.maxOutputTokens].find(
    (value) => typeof value === 'number' && value > 0,
  );
  // Every byte of the body counted as prompt text: an upper bound for text, whatever
  // the API's shape (limits/estimate.ts), and a generous one for inline images.
  const estimated: JsonObject = { prompt: text, ...(cap !== undefined ? { max_tokens: cap } : {}), ...(typeof json.n === 'number' ? { n: json.n } : {}) };
  return { model, stream: json.stream === true, endpoint: 'completions', body: estimated, json };
}

export async function forward(prepared: Prepared, input: ForwardInput): Promise<Response> {
  const estimate = estimation(input.body, input.request.headers.get('content-type'));
  return forwardOn(prepared, input, estimate, providerRoute(input.config, prepared.provider, estimate.model));
}

/** The call itself, on a route of one target (the provider's own, or an alias's single target: native.ts). */
export async function forwardOn(prepared: Prepared, input: ForwardInput, estimate: Estimation, route: Route): Promise<Response> {
  const { env, config, record, request } = input;
  const { provider, settings } = prepared;
  const target = route.targets[0]!;
  record.model = route.model;
  record.stream = estimate.stream;
  const admission = await admit({ env, config, keyId: input.caller.keyId, route, endpoint: estimate.endpoint, body: estimate.body, record, ctx: input.ctx });
  if (admission) input.onAdmitted(admission);
  record.payload = capturePassthrough(config, input.caller.policy, route.model, estimate.json, input.body, request.headers.get('content-type'));

  const secretName = settings.api_key_secret;
  const credential = secretName ? secret(env, secretName) : undefined;
  if (secretName && !credential) {
    console.error(`provider "${provider}": secret ${secretName} is not set`);
    throw new GatewayError('upstream_failed', `Provider "${provider}" has no credential configured`);
  }
  const headers = upstreamHeaders(request.headers, prepared.passthrough.headers(settings, credential), prepared.passthrough.defaults, record.requestId);

  const guard = guardUpstream(
    request.signal,
    { firstByteMs: target.timeouts.first_byte_ms, totalMs: target.timeouts.total_ms },
    (what, ms) => new GatewayError('upstream_timeout', `Provider "${provider}" timed out (${what}, ${ms} ms)`),
  );
  const { controller, finish } = guard;

  record.provider = provider;
  record.upstreamModel = target.model;
  const started = Date.now();
  const attempt = (status: number | null, errorCode: string | null) =>
    record.attemptLog.push({ provider, model: target.model, status, errorCode, latencyMs: Date.now() - started, waitMs: 0, decision: null });
  let response: Response;
  try {
    response = await fetch(prepared.url, {
      method: prepared.method,
      headers,
      body: input.body && prepared.method !== 'GET' && prepared.method !== 'HEAD' ? input.body : null,
      redirect: 'manual',
      signal: controller.signal,
    });
  } catch (error) {
    finish();
    const failure = request.signal.aborted ? new GatewayError('client_closed', 'The client closed the connection') : unreached(error, controller.signal, provider);
    attempt(null, failure.code);
    throw failure;
  }
  guard.firstByte();
  record.firstByteAt = Date.now();
  const failure = refusedAnswer(response, provider);
  attempt(response.status, failure?.code ?? null);
  if (failure) {
    finish();
    void response.body?.cancel().catch(() => {});
    throw failure;
  }

  const { status } = response;
  const out = downstreamHeaders(response.headers, admission?.headers);
  const answer = record.payload && new AnswerCapture(record.payload, response.headers.get('content-type'), config.log.payload_max_bytes);
  if (status >= 400) record.errorCode = status === 429 ? 'upstream_rate_limited' : status < 500 ? 'upstream_rejected' : 'upstream_failed';
  if (!response.body || prepared.method === 'HEAD' || NULL_BODY.has(status)) {
    finish();
    void response.body?.cancel().catch(() => {});
    return new Response(null, { status, headers: out });
  }
  if (!response.ok) {
    // The provider's own error, for the native SDK to read; never the credential in it.
    // Read under the total timer, which aborts a body that stalls.
    const read = await readErrorBody(response);
    finish();
    const text = credential ? read.split(credential).join('[redacted]') : read;
    answer?.whole(text);
    return new Response(text, { status, headers: out });
  }
  const tap = new UsageTap(bodyKind(response.headers.get('content-type')), target.maxResponseBytes);
  if (tap.kind === 'sse') record.stream = true;
  const body = relayBody({
    body: response.body, tap, answer, record, provider, finish,
    upstream: controller, clientSignal: request.signal, done: input.endLater(),
    estimatePrompt: () => admission?.promptEstimate ?? estimateTokens(estimate.endpoint, estimate.body, config.limits).prompt,
  });
  return new Response(body, { status, headers: out });
}

/** A 3xx (not followed: fetch runs with redirect "manual") or the provider refusing the gateway's credential. */
function refusedAnswer(response: Response, provider: string): GatewayError | undefined {
  const { status } = response;
  if (status >= 300 && status < 400 && status !== 304) {
    return new GatewayError('upstream_failed', `Provider "${provider}" answered with a redirect (${status}), which the gateway does not follow`, { upstreamStatus: status });
  }
  if (status === 401 || status === 407) {
    console.error(`provider "${provider}": the provider rejected the gateway's credential (${status})`);
    return new GatewayError('upstream_credential_rejected', `Provider "${provider}" rejected the gateway's credential (${status})`, { upstreamStatus: status });
  }
  return undefined;
}

function unreached(error: unknown, signal: AbortSignal, provider: string): GatewayError {
  if (signal.reason instanceof GatewayError) return signal.reason;
  // fetch() rejections can carry the URL: the client gets none of it, the operator's log a scrubbed copy.
  console.error(`provider "${provider}": ${scrub(error instanceof Error ? error.message : String(error))}`);
  return new GatewayError('upstream_failed', `Provider "${provider}" could not be reached`);
}
