import type { Context } from 'hono';
import type { Operation } from '../../core/operation';
import { OPENAI_SCHEMAS, openAIFormat, toCall } from '../../ingress/openai';
import { respond } from '../../ingress/respond';
import { runCall } from '../../pipeline/run-call';
import { validate } from '../../ingress/validate';
import { readJsonObject } from '../body';
import type { AppEnv } from '../context';

/**
 * The OpenAI model routes: read the body, validate it as OpenAI's API, run the
 * call through the pipeline, answer in OpenAI's wire format.
 */
export function proxy(operation: Operation) {
  const schema = OPENAI_SCHEMAS[operation];
  return async function handle(c: Context<AppEnv>): Promise<Response> {
    const config = c.get('config');
    const record = c.get('record');
    const body = await readJsonObject(c.req.raw, config.max_body_bytes);
    const request = toCall(operation, validate(schema, body));
    const clientSignal = c.req.raw.signal;
    const result = await runCall({
      env: c.env, ctx: c.executionCtx, config, caller: c.get('caller'), record, operation, body,
      model: request.model, stream: request.stream, requestHeaders: c.req.raw.headers, clientSignal,
      onAdmitted: (admission) => c.set('admission', admission),
    });
    const format = openAIFormat(request.clientWantsUsage);
    return respond({ format, result, record, operation, body, config, stream: request.stream, clientSignal, endLater: c.get('endLater') });
  };
}
