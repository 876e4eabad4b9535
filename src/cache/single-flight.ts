import type { CacheEntry } from './entry';

/**
 * Identical concurrent misses in one isolate make one upstream call: the first is
 * the leader, the others wait for its entry. Each waiter's promise is created in
 * its own request (workerd runs a continuation in the request that awaits it); the
 * leader settles them before its own request ends, with the entry or, if its call
 * failed or was not storable, with undefined (the waiter then calls upstream itself).
 * Across isolates there is no coordination: each isolate may make one call.
 */

const flights = new Map<string, ((entry: CacheEntry | undefined) => void)[]>();

/** Undefined when no identical call is in flight here; otherwise the leader's outcome. */
export function joinFlight(key: string): Promise<CacheEntry | undefined> | undefined {
  const waiters = flights.get(key);
  if (!waiters) return undefined;
  return new Promise((resolve) => waiters.push(resolve));
}

export interface Flight {
  land(entry: CacheEntry | undefined): void;
}

export function leadFlight(key: string): Flight {
  const waiters: ((entry: CacheEntry | undefined) => void)[] = [];
  flights.set(key, waiters);
  let landed = false;
  return {
    land(entry) {
      if (landed) return;
      landed = true;
      if (flights.get(key) === waiters) flights.delete(key);
      for (const wake of waiters) wake(entry);
    },
  };
}
