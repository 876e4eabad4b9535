import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { GatewayError } from '../../errors';
import { forward, preparePassthrough } from '../../passthrough/forward';
import { readBody } from '../body';
import type { AppEnv } from '../context';
import { callerKey } from '../middleware';

/**
 * `/{provider}/{path}`: provider-native passthrough (src/passthrough/). `{provider}`
 * is a provider's name in the config; `/v1/…` stays the gateway's own OpenAI API,
 * whatever the providers are called.
 */

/** The provider's name and the rest of the path with the query, as the URL parser left them (percent-encoded). */
function split(url: string): { provider: string; path: string; search: string } {
  const { pathname, search } = new URL(url);
  const slash = pathname.indexOf('/', 1);
  if (slash === -1) return { provider: pathname.slice(1), path: '', search };
  return { provider: pathname.slice(1, slash), path: pathname.slice(slash), search };
}

/** Before auth: only a configured provider's name opens a passthrough; any other path is the 404 of an unknown URL. */
export const passthroughEntry = createMiddleware<AppEnv>(async function passthroughEntry(c, next) {
  const { provider, path } = split(c.req.url);
  if (provider === 'v1' || !Object.hasOwn(c.get('config').providers, provider)) {
    throw new GatewayError('unknown_url', `Invalid URL (${c.req.method} ${c.req.path})`);
  }
  // The provider is the row's `provider`; the endpoint is its API path (never the query: it may carry secrets).
  c.get('record').endpoint = `passthrough:${path.slice(0, 200)}`;
  await next();
});

export async function passthrough(c: Context<AppEnv>): Promise<Response> {
  const config = c.get('config');
  const caller = c.get('caller');
  const request = c.req.raw;
  const { provider, path, search } = split(request.url);
  const prepared = preparePassthrough(c.env, config, caller, provider, request.method, path, search, callerKey(request.headers));
  const body = await readBody(request, config.max_body_bytes);
  return forward(prepared, {
    env: c.env, ctx: c.executionCtx, config, caller, record: c.get('record'), request, body,
    onAdmitted: (admission) => c.set('admission', admission),
    endLater: c.get('endLater'),
  });
}
