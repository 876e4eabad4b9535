import type { CachePolicy } from '../config/cache-schema';
import type { GatewayConfig } from '../config/schema';
import { GatewayError } from '../errors';
import { cacheKey, canonicalJson, isNondeterministic, sha256Hex, unknownFields } from './canonical';
import { recallKey, rememberKey } from './key-memo';
import { bodyTextOf } from '../core/body-text';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
import type { Route } from '../core/target';
import { definedFields } from '../core/values';

/**
 * Decides, per call, whether the cache may answer it and whether its answer may be
 * stored. Request headers (ours, and Cloudflare AI Gateway's for apps moving over):
 *   x-gateway-cache: skip | refresh | no-store    cf-aig-skip-cache: true   (= skip)
 *   x-gateway-cache-ttl: <seconds>                cf-aig-cache-ttl: <seconds>
 *   cache-control: no-cache (= refresh), no-store cf-aig-cache-key: <key>  (replaces the body in the key)
 */

export interface CachePlan {
  key: string;
  /** Look the key up (false for refresh). */
  lookup: boolean;
  /** Store a complete answer (false for no-store). */
  store: boolean;
  ttlMs: number;
  policy: CachePolicy;
}

export type CacheDecision = { use: CachePlan } | { bypass: string } | undefined;

interface RoutePolicy {
  policy: CachePolicy;
  fingerprint: Promise<string>;
  /** Names this (config, alias) pair in the key memo: it fixes the version, normalization and fingerprint. */
  id: number;
}

const policies = new WeakMap<GatewayConfig, Map<string, RoutePolicy>>();
let lastPolicyId = 0;

function routePolicy(config: GatewayConfig, route: Route) {
  let byModel = policies.get(config);
  if (!byModel) policies.set(config, (byModel = new Map()));
  let found = byModel.get(route.model);
  if (!found) {
    const { enabled, ttl_s, cache_nondeterministic, cache_unknown_fields, cache_truncated, normalize, version, min_ttl_s, max_ttl_s, max_entry_bytes } = config.cache;
    const policy: CachePolicy = {
      enabled, ttl_s, cache_nondeterministic, cache_unknown_fields, cache_truncated, normalize, version, min_ttl_s, max_ttl_s, max_entry_bytes,
      ...(route.provider ? {} : definedFields(config.models[route.model]?.cache)),
    };
    // A config change to where this model is served changes every key of it.
    const fingerprint = sha256Hex(
      canonicalJson(route.targets.map((t) => ({ provider: t.provider, kind: t.config.kind, base_url: t.config.base_url ?? null, feature_extraction_url: t.config.feature_extraction_url ?? null, model: t.model }))),
    );
    byModel.set(route.model, (found = { policy, fingerprint, id: ++lastPolicyId }));
  }
  return found;
}


function requestedTtl(headers: Headers, policy: CachePolicy): number {
  const raw = headers.get('x-gateway-cache-ttl') ?? headers.get('cf-aig-cache-ttl');
  if (raw === null) return policy.ttl_s * 1000;
  const seconds = Number(raw.trim());
  if (!raw.trim() || !Number.isFinite(seconds) || seconds <= 0) {
    throw new GatewayError('invalid_request', 'Cache TTL header must be a positive number of seconds', { param: 'x-gateway-cache-ttl' });
  }
  return Math.min(policy.max_ttl_s, Math.max(policy.min_ttl_s, seconds)) * 1000;
}

export async function planCache(
  config: GatewayConfig,
  route: Route,
  endpoint: Operation,
  body: JsonObject,
  headers: Headers,
  keyId: string,
  variant?: string,
): Promise<CacheDecision> {
  const { policy, fingerprint, id } = routePolicy(config, route);
  if (!policy.enabled) return undefined;

  const directive = (headers.get('x-gateway-cache') ?? '').trim().toLowerCase();
  const cacheControl = (headers.get('cache-control') ?? '').toLowerCase();
  if (directive && !['skip', 'refresh', 'no-store'].includes(directive)) {
    throw new GatewayError('invalid_request', 'x-gateway-cache must be skip, refresh or no-store', { param: 'x-gateway-cache' });
  }
  if (directive === 'skip' || headers.get('cf-aig-skip-cache')?.trim().toLowerCase() === 'true') return { bypass: 'skip requested' };
  if (!policy.cache_nondeterministic && isNondeterministic(endpoint, body)) return { bypass: 'nondeterministic request' };
  if (!policy.cache_unknown_fields && unknownFields(endpoint, body).length > 0) return { bypass: 'unknown fields' };

  const cacheScope = config.keys[keyId]?.cache_scope;
  const customKey = headers.get('cf-aig-cache-key') ?? undefined;
  // Calls under different output guardrails store different answers (src/guardrails/plan.ts).
  const guarded = variant === undefined ? '' : `|guardrails:${variant}`;
  const scope = (cacheScope ? `scope:${cacheScope}` : `key:${keyId}`) + guarded;
  // Every input of the key besides the body, for a byte-identical repeat (key-memo.ts).
  const text = bodyTextOf(body);
  const context = text === undefined ? '' : JSON.stringify([id, endpoint, scope, customKey ?? null]);
  let key = text === undefined ? undefined : recallKey(context, text, Date.now());
  if (key === undefined) {
    key = await cacheKey({
      version: policy.version,
      scope,
      endpoint,
      model: route.model,
      routeFingerprint: await fingerprint,
      body,
      normalize: policy.normalize,
      ...(customKey !== undefined ? { customKey } : {}),
    });
    if (text !== undefined) rememberKey(context, text, key, Date.now());
  }
  return {
    use: {
      key,
      lookup: directive !== 'refresh' && !cacheControl.includes('no-cache'),
      store: directive !== 'no-store' && !cacheControl.includes('no-store'),
      ttlMs: requestedTtl(headers, policy),
      policy,
    },
  };
}
