import type { Context } from 'hono';
import { anthropicFormat, chatBody, CountTokensRequest, MessagesRequest } from '../../ingress/anthropic';
import { respond } from '../../ingress/respond';
import { estimateTokens } from '../../limits/estimate';
import { runCall } from '../../pipeline/run-call';
import { authorize, resolveModel } from '../../routing/resolve';
import { validate } from '../../ingress/validate';
import { forwardNative, nativeRoute } from '../../passthrough/native';
import { readJsonObject } from '../body';
import type { AppEnv } from '../context';
import { nativeInput } from './native-input';

/**
 * Anthropic's Messages API (`POST /v1/messages`): the body is validated as
 * Anthropic's, translated to an OpenAI chat call, run through the same pipeline as
 * /v1/chat/completions (routing, limits, cache, failover, log), and answered in
 * Anthropic's shape. Errors take that shape too: app.ts sets the format for these
 * paths before auth runs. A model routed to one Anthropic target alone is forwarded
 * natively instead (passthrough/native.ts).
 */
export async function messages(c: Context<AppEnv>): Promise<Response> {
  const config = c.get('config');
  const record = c.get('record');
  const raw = await readJsonObject(c.req.raw, config.max_body_bytes);
  const native = nativeRoute(config, c.get('caller'), 'messages', raw);
  if (native) return forwardNative('messages', native, raw, nativeInput(c));
  const request = validate(MessagesRequest, raw);
  const stream = request.stream === true;
  const body = chatBody(request, stream);
  const operation = 'chat.completions';
  const clientSignal = c.req.raw.signal;
  const result = await runCall({
    env: c.env, ctx: c.executionCtx, config, caller: c.get('caller'), record, operation, body,
    model: request.model, stream, requestHeaders: c.req.raw.headers, clientSignal,
    onAdmitted: (admission) => c.set('admission', admission),
  });
  const format = c.get('format') ?? anthropicFormat(record.requestId);
  return respond({ format, result, record, operation, body, config, stream, clientSignal, endLater: c.get('endLater') });
}

/**
 * `POST /v1/messages/count_tokens`: the prompt's tokens as the gateway's limiter
 * estimates them (limits/estimate.ts), without calling a provider or charging the
 * key's limits. The model must exist and be allowed for the key, as for a call.
 */
export async function countTokens(c: Context<AppEnv>): Promise<Response> {
  const config = c.get('config');
  const request = validate(CountTokensRequest, await readJsonObject(c.req.raw, config.max_body_bytes));
  c.get('record').model = request.model;
  authorize(c.get('caller').policy, resolveModel(config, request.model));
  const { prompt } = estimateTokens('chat.completions', chatBody(request, false), config.limits);
  return c.json({ input_tokens: prompt });
}
