import type { Price } from '../config/limits-schema';
import type { GatewayConfig } from '../config/schema';
import type { CallRecord } from '../logging/call-record';
import type { Route } from '../routing/resolve';
import type { Estimate } from './estimate';

/** Prices are USD per million tokens, keyed by the `provider/model` that served. */

export interface Usage {
  prompt: number;
  completion: number;
  /** Prompt tokens the provider served from its prompt cache. */
  cached?: number;
}

export function priceOf(config: GatewayConfig, provider: string | null, model: string | null): Price | undefined {
  if (!provider || !model) return undefined;
  return config.prices[`${provider}/${model}`];
}

export function costOf(price: Price, usage: Usage): number {
  const cached = Math.min(usage.cached ?? 0, usage.prompt);
  const cachedPrice = price.cached_input_per_mtok ?? price.input_per_mtok;
  return ((usage.prompt - cached) * price.input_per_mtok + cached * cachedPrice + usage.completion * price.output_per_mtok) / 1e6;
}

/** What to reserve before the serving target is known: the dearest target of the route. */
export function reserveCost(config: GatewayConfig, route: Route, estimate: Estimate): number {
  let most = 0;
  for (const target of route.targets) {
    const price = priceOf(config, target.provider, target.model);
    if (price) most = Math.max(most, costOf(price, estimate));
  }
  return most;
}

/** The call's cost for the log and the budget; null when its tokens or its price are unknown. */
export function callCost(config: GatewayConfig, call: CallRecord): number | null {
  if (call.promptTokens === null) return null;
  const price = priceOf(config, call.provider, call.upstreamModel);
  if (!price) return null;
  return costOf(price, { prompt: call.promptTokens, completion: call.completionTokens ?? 0, cached: call.cachedTokens ?? 0 });
}
