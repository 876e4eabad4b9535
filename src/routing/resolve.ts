import type { GatewayConfig, KeyConfig } from '../config/schema';
import { GatewayError } from '../errors';
import type { Target } from '../providers/provider';

/**
 * Model addressing: a configured alias resolves to its ordered targets; otherwise
 * `provider/model` reaches a configured provider directly. The split is on the
 * first `/` only, because Hugging Face model ids contain slashes
 * (`hf/BAAI/bge-small-en-v1.5` is provider `hf`, model `BAAI/bge-small-en-v1.5`).
 */

export interface Route {
  /** What the caller asked for. */
  model: string;
  /** Set when the model is a direct `provider/model` address. */
  provider?: string;
  targets: Target[];
}

function target(config: GatewayConfig, provider: string, model: string): Target {
  const settings = config.providers[provider]!;
  return { provider, config: settings, model, timeouts: { ...config.timeouts, ...settings.timeouts } };
}

export function resolveModel(config: GatewayConfig, model: string): Route {
  const alias = Object.hasOwn(config.models, model) ? config.models[model] : undefined;
  if (alias) {
    return { model, targets: alias.targets.map((t) => target(config, t.provider, t.model)) };
  }
  const slash = model.indexOf('/');
  if (slash > 0 && slash < model.length - 1) {
    const provider = model.slice(0, slash);
    if (Object.hasOwn(config.providers, provider)) {
      return { model, provider, targets: [target(config, provider, model.slice(slash + 1))] };
    }
  }
  throw new GatewayError('model_not_found', `The model "${model}" does not exist on this gateway`, {
    param: 'model',
  });
}

/** Key policy patterns: `*`, an exact alias or `provider/model`, or `provider/*`. */
export function mayUse(policy: KeyConfig, route: Route): boolean {
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
