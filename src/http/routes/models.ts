import type { Context } from 'hono';
import type { GatewayConfig } from '../../config/schema';
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

export function getModel(c: Context<AppEnv>): Response {
  const config = c.get('config');
  const id = decodeURIComponent(c.req.path.slice('/v1/models/'.length));
  c.get('call').model = id;
  const route = resolveModel(config, id);
  authorize(c.get('caller').policy, route);
  return c.json(entry(id, route.provider ?? ownerOf(config, id)));
}
