import type { Price } from '../config/limits-schema';
import type { GatewayConfig } from '../config/schema';
import type { CallRecord } from '../logging/call-record';
import type { Estimate } from './estimate';
import { configModelKey, modelKey } from './model-key';
import type { Route } from '../core/target';
import type { Usage } from '../core/usage';

/**
 * Prices are USD per million tokens, keyed by the `provider/model` that served and
 * matched as modelKey() spells it (so `fx/Fixture-Chat` costs what `fx/fixture-chat`
 * costs). A model without a price costs `limits.default_price` when the config sets
 * one; otherwise it has no price, and a key with a budget may not call it (admission).
 */

const tables = new WeakMap<GatewayConfig, Map<string, Price>>();

function table(config: GatewayConfig): Map<string, Price> {
  let prices = tables.get(config);
  if (!prices) {
    prices = new Map();
    for (const [name, price] of Object.entries(config.prices)) {
      const key = configModelKey(name);
      if (key && !prices.has(key)) prices.set(key, price);
    }
    tables.set(config, prices);
  }
  return prices;
}

export function priceOf(config: GatewayConfig, provider: string | null, model: string | null): Price | undefined {
  if (!provider || !model) return undefined;
  return table(config).get(modelKey(provider, model)) ?? config.limits.default_price;
}

/** Cache reads and writes are part of `prompt`, each at its own price (the input price when unset). */
export function costOf(price: Price, usage: Usage): number {
  const cached = Math.min(usage.cacheRead ?? 0, usage.prompt);
  const written = Math.min(usage.cacheWrite ?? 0, usage.prompt - cached);
  const cachedPrice = price.cached_input_per_mtok ?? price.input_per_mtok;
  const writePrice = price.cache_write_input_per_mtok ?? price.input_per_mtok;
  const input = (usage.prompt - cached - written) * price.input_per_mtok + cached * cachedPrice + written * writePrice;
  return (input + usage.completion * price.output_per_mtok) / 1e6;
}

interface RoutePrices {
  prices: Price[];
  /** Targets (`provider/model`) with no price: a budgeted key may not call this route. */
  unpriced: string[];
}

// Routes are memoized per config by resolve.ts, so a route's prices are looked up once.
const byRoute = new WeakMap<Pick<Route, 'targets'>, RoutePrices>();

export function routePrices(config: GatewayConfig, route: Pick<Route, 'targets'>): RoutePrices {
  let found = byRoute.get(route);
  if (!found) {
    found = { prices: [], unpriced: [] };
    for (const target of route.targets) {
      const price = priceOf(config, target.provider, target.model);
      if (price) found.prices.push(price);
      else found.unpriced.push(target.id);
    }
    byRoute.set(route, found);
  }
  return found;
}

/** What to reserve before the serving target is known: the dearest target of the route. */
export function reserveCost(config: GatewayConfig, route: Pick<Route, 'targets'>, estimate: Estimate): number {
  let most = 0;
  for (const price of routePrices(config, route).prices) most = Math.max(most, costOf(price, estimate));
  return most;
}

/** The call's cost for the log and the budget; null when its tokens or its price are unknown. */
export function callCost(config: GatewayConfig, record: CallRecord): number | null {
  if (record.promptTokens === null) return null;
  const price = priceOf(config, record.provider, record.upstreamModel);
  if (!price) return null;
  const { promptTokens: prompt, completionTokens, cachedTokens, cacheWriteTokens } = record;
  return costOf(price, { prompt, completion: completionTokens ?? 0, cacheRead: cachedTokens ?? 0, cacheWrite: cacheWriteTokens ?? 0 });
}
