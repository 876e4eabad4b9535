import type { Context } from 'hono';
import type { z } from 'zod';
import { admit } from '../../limits/admission';
import type { Endpoint } from '../../providers/provider';
import { dispatch } from '../../routing/dispatch';
import { authorize, resolveModel } from '../../routing/resolve';
import { relay } from '../../streaming/relay';
import { readUsage, recordUsage } from '../../streaming/usage';
import { readJsonObject, validate } from '../body';
import type { AppEnv } from '../context';

type ApiSchema = z.ZodType<{ model: string; stream?: boolean | null; stream_options?: { include_usage?: boolean } | null }>;

/**
 * One handler for every model endpoint: read and validate the body, resolve and
 * authorize the model, dispatch to the route's targets, and answer in OpenAI's
 * shape (JSON, or SSE relayed as it arrives).
 */
export function proxy(endpoint: Endpoint, schema: ApiSchema) {
  return async function handle(c: Context<AppEnv>): Promise<Response> {
    const config = c.get('config');
    const call = c.get('call');
    const body = await readJsonObject(c.req.raw, config.max_body_bytes);
    const request = validate(schema, body);
    const stream = endpoint !== 'embeddings' && request.stream === true;
    call.model = request.model;
    call.stream = stream;

    const route = resolveModel(config, request.model);
    const caller = c.get('caller');
    authorize(caller.policy, route);
    const admission = await admit({ env: c.env, config, keyId: caller.keyId, route, endpoint, body, call });
    if (admission) c.set('admission', admission);

    const served = await dispatch(
      { endpoint, body, stream, requestId: call.requestId, env: c.env, clientSignal: c.req.raw.signal, record: call },
      route,
    );
    const headers: Record<string, string> = {
      ...admission?.headers,
      'x-gateway-provider': served.target.provider,
      'x-gateway-model': served.target.model,
      'x-gateway-attempts': String(call.attempts),
    };

    if (!stream) {
      const usage = readUsage(served.json?.usage);
      if (usage) recordUsage(call, usage);
      if (served.text !== undefined) {
        return new Response(served.text, { headers: { ...headers, 'content-type': 'application/json' } });
      }
      return c.json(served.json, 200, headers);
    }
    const clientWantsUsage = request.stream_options?.include_usage === true;
    return new Response(relay({ served, record: call, clientWantsUsage }), {
      headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
    });
  };
}
