import type { Context } from 'hono';
import type { GatewayConfig } from '../../config/schema';
import { GatewayError } from '../../errors';
import { authorize, mayUse, resolveModel } from '../../routing/resolve';
import type { AppEnv } from '../context';

function entry(id: string, ownedBy: string) {
  return { id, object: 'model', created: 0, owned_by: ownedBy };
}

function ownerOf(config: GatewayConfig, alias: string): string {
  return config.models[alias]?.tiers[0]?.targets[0]?.provider ?? 'edge-ai-gateway';
}

/**
 * GET /v1/models: the aliases this key may use. Direct `provider/model` addresses
 * are open-ended, so they are not listed (GET /v1/models/{id} answers for them).
 */
export function listModels(c: Context<AppEnv>): Response {
  const config = c.get('config');
  const policy = c.get('caller').policy;
  const data = Object.keys(config.models)
    .filter((alias) => mayUse(policy, { model: alias }))
    .map((alias) => entry(alias, ownerOf(config, alias)));
  return c.json({ object: 'list', data });
}

/**
 * Hono has already decoded what decodeURI can (leaving `%2F`, `%25` and the like, and
 * any malformed escape, as they came); this decodes the rest. A malformed escape
 * (`%ZZ`, a cut UTF-8 sequence) makes decodeURIComponent throw a URIError: that is
 * the caller's mistake, not ours, so it is undefined here and a 400 above.
 */
function decodeModelId(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

export function getModel(c: Context<AppEnv>): Response {
  const config = c.get('config');
  const raw = c.req.path.slice('/v1/models/'.length);
  const id = decodeModelId(raw);
  if (id === undefined) {
    c.get('record').model = raw;
    throw new GatewayError('invalid_request', 'Invalid request: the model id in the URL is not valid percent-encoding', { param: 'model' });
  }
  c.get('record').model = id;
  const route = resolveModel(config, id);
  authorize(c.get('caller').policy, route);
  return c.json(entry(id, route.provider ?? ownerOf(config, id)));
}
