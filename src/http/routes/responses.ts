import type { Context } from 'hono';
import {
  inputItems, itemsFromMessages, loadConversation, responseContext, responsesFormat, saveConversation, toChat, validateResponses,
} from '../../ingress/responses';
import { respond } from '../../ingress/respond';
import { runCall } from '../../pipeline/run-call';
import { forwardNative, nativeRoute } from '../../passthrough/native';
import type { JsonObject } from '../../core/json';
import { readJsonObject } from '../body';
import type { AppEnv } from '../context';
import { nativeInput } from './native-input';

/**
 * `POST /v1/responses`: OpenAI's Responses API over any model the gateway routes.
 * The request runs as a chat completion through the same pipeline as
 * /v1/chat/completions (routing, limits, cache, failover, logging), and its answer
 * is re-shaped into a `response` or the Responses event stream (src/ingress/responses/).
 * A model routed to one OpenAI target alone is forwarded natively instead
 * (passthrough/native.ts).
 */
export async function responses(c: Context<AppEnv>): Promise<Response> {
  const config = c.get('config');
  const record = c.get('record');
  const caller = c.get('caller');
  const raw = await readJsonObject(c.req.raw, config.max_body_bytes);
  const native = nativeRoute(config, caller, 'responses', raw);
  if (native) return forwardNative('responses', native, raw, nativeInput(c));
  const request = validateResponses(raw);
  const stream = request.stream === true;
  const history = request.previous_response_id ? await loadConversation(c.env.CACHE, caller.keyId, request.previous_response_id) : [];
  const { body, conversation } = toChat(request, history, stream);
  const clientSignal = c.req.raw.signal;
  const result = await runCall({
    env: c.env, ctx: c.executionCtx, config, caller, record, operation: 'chat.completions', body,
    model: request.model, stream, requestHeaders: c.req.raw.headers, clientSignal,
    onAdmitted: (admission) => c.set('admission', admission),
  });
  const stored = request.store === true;
  const context = responseContext(record.requestId, record.startedAt, request, stored);
  const store = { kv: c.env.CACHE, keyId: caller.keyId, waitUntil: (p: Promise<unknown>) => c.executionCtx.waitUntil(p) };
  const format = responsesFormat(context, (response) => {
    if (!stored) return;
    // Input guardrails may have redacted the call: what is kept is what was sent, never more.
    if (result.sent === body) return saveConversation(store, conversation, response, inputItems(context, request.input));
    const sent = (result.sent.messages as JsonObject[]).slice(request.instructions ? 1 : 0);
    saveConversation(store, sent, response, inputItems(context, itemsFromMessages(sent.slice(history.length))));
  });
  return respond({ format, result, record, operation: 'chat.completions', body, config, stream, clientSignal, endLater: c.get('endLater') });
}
