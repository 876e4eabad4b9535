import type { CacheEntry } from './entry';

/**
 * Identical concurrent misses in one isolate make one upstream call: the first is
 * the leader, the others wait for its entry and are answered from it. If the
 * leader's call fails or is not storable, a waiter calls upstream itself.
 *
 * Requests share only plain data here, never promises: workerd refuses to let one
 * request settle a promise another request awaits ("Cannot perform I/O on behalf
 * of a different request"), and cancels a request as hung when all it awaits is
 * another request. So the leader publishes its outcome in isolate memory, and each
 * waiter checks on its own timer, every POLL_MS, until it lands or the wait ends.
 * Across isolates there is no coordination: each isolate may make one call.
 */

const POLL_MS = 5;

interface FlightState {
  landed: boolean;
  entry: CacheEntry | undefined;
}

const flights = new Map<string, FlightState>();

/** Undefined at once when no identical call is in flight here; otherwise the leader's entry, if any. */
export async function joinFlight(key: string, maxWaitMs: number): Promise<CacheEntry | undefined> {
  const flight = flights.get(key);
  if (!flight) return undefined;
  const deadline = Date.now() + maxWaitMs;
  while (!flight.landed && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return flight.entry;
}

export interface Flight {
  land(entry: CacheEntry | undefined): void;
}

export function leadFlight(key: string): Flight {
  const flight: FlightState = { landed: false, entry: undefined };
  flights.set(key, flight);
  return {
    land(entry) {
      if (flight.landed) return;
      flight.landed = true;
      flight.entry = entry;
      if (flights.get(key) === flight) flights.delete(key);
    },
  };
}
