import type { GatewayConfig, KeyConfig } from '../config/schema';
import { GatewayError } from '../errors';
import type { Route, Target } from '../core/target';

/**
 * Model addressing: a configured alias resolves to its ordered targets; otherwise
 * `provider/model` reaches a configured provider directly. The split is on the
 * first `/` only, because Hugging Face model ids contain slashes
 * (`hf/BAAI/bge-small-en-v1.5` is provider `hf`, model `BAAI/bge-small-en-v1.5`).
 */

function target(config: GatewayConfig, provider: string, model: string, weight = 1): Target {
  const settings = config.providers[provider]!;
  return {
    provider, config: settings, model, weight, id: `${provider}/${model}`,
    timeouts: { ...config.timeouts, ...settings.timeouts },
    maxResponseBytes: settings.max_response_bytes ?? config.max_response_bytes,
    breaker: { ...config.routing.breaker, ...settings.breaker },
  };
}

function build(config: GatewayConfig, model: string): Route | undefined {
  const routing = config.routing;
  const alias = Object.hasOwn(config.models, model) ? config.models[model] : undefined;
  if (alias) {
    const tiers = alias.tiers.map((tier) => tier.targets.map((t) => target(config, t.provider, t.model, t.weight)));
    return {
      model,
      tiers,
      targets: tiers.flat(),
      strategy: alias.strategy,
      retry: { ...routing.retry, ...alias.retry },
      failoverOn: new Set(alias.failover_on ?? routing.failover_on),
    };
  }
  const slash = model.indexOf('/');
  if (slash > 0 && slash < model.length - 1) {
    const provider = model.slice(0, slash);
    if (Object.hasOwn(config.providers, provider)) return providerRoute(config, provider, model.slice(slash + 1));
  }
  return undefined;
}

/** The route of a direct `provider/model` address (a declared provider): that one target, no alias consulted. */
export function providerRoute(config: GatewayConfig, provider: string, model: string): Route {
  const only = target(config, provider, model);
  const { retry, failover_on } = config.routing;
  return { model: `${provider}/${model}`, provider, tiers: [[only]], targets: [only], strategy: 'weighted', retry, failoverOn: new Set(failover_on) };
}

// Resolved once per config and model. Callers choose direct `provider/model` strings,
// so the memo is bounded.
const MAX_ROUTES = 1000;
const routes = new WeakMap<GatewayConfig, Map<string, Route>>();

export function resolveModel(config: GatewayConfig, model: string): Route {
  let byModel = routes.get(config);
  if (!byModel) routes.set(config, (byModel = new Map()));
  let route = byModel.get(model);
  if (!route) {
    route = build(config, model);
    if (!route) {
      throw new GatewayError('model_not_found', `The model "${model}" does not exist on this gateway`, { param: 'model' });
    }
    if (byModel.size >= MAX_ROUTES) byModel.clear();
    byModel.set(model, route);
  }
  return route;
}

/** Key policy patterns: `*`, an exact alias or `provider/model`, or `provider/*`. */
export function mayUse(policy: KeyConfig, route: Pick<Route, 'model' | 'provider'>): boolean {
  return policy.models.some(
    (pattern) =>
      pattern === '*' ||
      pattern === route.model ||
      (route.provider !== undefined && pattern === `${route.provider}/*`),
  );
}

export function authorize(policy: KeyConfig, route: Route): void {
  if (!mayUse(policy, route)) {
    throw new GatewayError('model_not_allowed', `This key may not use the model "${route.model}"`, {
      param: 'model',
    });
  }
}
