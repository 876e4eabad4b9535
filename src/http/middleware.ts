import { createMiddleware } from 'hono/factory';
import { keyRing } from '../auth/key-ring';
import { loadConfig } from '../config/load';
import { GatewayError } from '../errors';
import { clientIp, countFailure, refuseIfBlocked } from '../limits/auth-failures';
import { newCallRecord } from '../logging/call-record';
import { callMetadata } from '../logging/metadata';
import { logPayload } from '../logging/payload-log';
import { endCall } from '../pipeline/end-call';
import type { AppEnv } from './context';

/** A stored response's id is no endpoint: the log names what was done to it. */
const STORED_RESPONSE = /^\/v1\/responses\/[^/]+(\/input_items)?$/;

function endpointOf(method: string, path: string): string {
  const stored = path.startsWith('/v1/responses/') ? STORED_RESPONSE.exec(path) : null;
  if (stored) return stored[1] ? 'responses.input_items' : method === 'DELETE' ? 'responses.delete' : 'responses.retrieve';
  if (path.startsWith('/v1/')) return path.slice(4).replaceAll('/', '.');
  return path;
}

/**
 * Outermost: gives the call its id and record, and queues its log row once the
 * response (a stream's body included) is complete. Every response carries
 * x-request-id, errors too; every call gets exactly one row, rejected ones too.
 */
export const callLog = createMiddleware<AppEnv>(async function callLog(c, next) {
  const requestId = `req_${crypto.randomUUID().replaceAll('-', '')}`;
  const record = newCallRecord(requestId, endpointOf(c.req.method, c.req.path));
  c.set('record', record);
  const ctx = c.executionCtx;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    const config = c.get('config');
    endCall({ env: c.env, ctx, config, record: record, admission: c.get('admission') });
    if (record.payload && config) logPayload(c.env, ctx, config, record);
  };
  // A client that leaves before the response exists: workerd cancels the handler's
  // pending I/O (the upstream call with it), so `next()` may never return. The call
  // still ends here, once: logged 499, its slot and reservation settled.
  const signal = c.req.raw.signal;
  const leftEarly = () => {
    record.status = 499;
    record.errorCode ??= 'client_closed';
    // A provider was called (dispatch names it as the attempt starts): it has the prompt
    // and may bill it, so the call is never charged nothing.
    const admission = c.get('admission');
    if (admission && record.promptTokens === null && record.provider !== null) {
      Object.assign(record, { promptTokens: admission.promptEstimate, completionTokens: 0, usageSource: 'gateway' });
    }
    finish();
  };
  let endsLater: Promise<void> | undefined;
  c.set('endLater', () => {
    let ended!: () => void;
    endsLater ??= new Promise<void>((resolve) => (ended = resolve));
    return () => ended();
  });
  signal.addEventListener('abort', leftEarly, { once: true });
  try {
    await next();
  } finally {
    signal.removeEventListener('abort', leftEarly);
  }
  if (finished) return;
  c.res.headers.set('x-request-id', requestId);
  if (record.status === 0) record.status = c.res.status;

  // A stream ends exactly once, however its client leaves (streaming/relay.ts end), and
  // says so: then the row is written and the slot and reservation settled.
  if (endsLater) ctx.waitUntil(endsLater.then(finish));
  else finish();
});

/** Validated once per isolate; a bad config answers every request with a 500 naming the field. */
export const config = createMiddleware<AppEnv>(async function config(c, next) {
  c.set('config', loadConfig(c.env.GATEWAY_CONFIG));
  await next();
});

/**
 * The caller's key: `Authorization: Bearer <key>` (OpenAI's clients), or `x-api-key`
 * (Anthropic's SDKs) or `x-goog-api-key` (Google's), so a native SDK works by
 * changing only its base URL. Undefined when none is sent.
 */
export function callerKey(headers: Headers): string | undefined {
  const authorization = headers.get('authorization');
  if (authorization !== null) return /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)?.[1];
  return headers.get('x-api-key')?.trim() || headers.get('x-goog-api-key')?.trim() || undefined;
}

/** Caller keys, looked up in Worker secrets. The key is never echoed. */
export const auth = createMiddleware<AppEnv>(async function auth(c, next) {
  const ip = clientIp(c.req.raw);
  refuseIfBlocked(ip);
  const key = callerKey(c.req.raw.headers);
  if (!key) {
    throw new GatewayError(
      'missing_api_key',
      "You didn't provide an API key. Send it in the Authorization header as 'Bearer YOUR_KEY' (or as x-api-key).",
      { headers: { 'www-authenticate': 'Bearer' } },
    );
  }
  const ring = await keyRing(c.get('config'), c.env);
  const caller = await ring.identify(key);
  if (!caller) {
    const blocked = await countFailure(c.env, c.get('config'), ip);
    if (blocked) throw blocked;
    throw new GatewayError('invalid_api_key', 'Incorrect API key provided.', {
      headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
    });
  }
  c.set('caller', caller);
  const record = c.get('record');
  record.keyId = caller.keyId;
  record.metadata = callMetadata(c.req.raw.headers, caller.policy.metadata);
  await next();
});
