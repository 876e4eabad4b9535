import type { Limiter } from './limiter';

/**
 * The isolate's side of the limiter keeps its state (queued settlements, leases,
 * asks, slot pools) per Limiter binding, then by name: tests swap the binding.
 */

export type LimiterNamespace = DurableObjectNamespace<Limiter>;

/** What queues background work: the request's execution context. */
export interface Waiter {
  waitUntil(promise: Promise<unknown>): void;
}

/** The binding's own map, made on first use. */
export function byNamespace<V>(maps: Map<LimiterNamespace, Map<string, V>>, ns: LimiterNamespace): Map<string, V> {
  let map = maps.get(ns);
  if (!map) maps.set(ns, (map = new Map()));
  return map;
}
