import type { GatewayConfig } from '../config/schema';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
import type { StreamTap } from '../core/stream-tap';
import type { Route, Target } from '../core/target';
import { StreamAssembler } from './assemble';
import { isStorable, type CacheEntry } from './entry';
import { readEntry, writeEntry } from './kv-store';
import { planCache } from './policy';
import { cacheHeaders, newEntry } from './serve';
import { joinFlight, leadFlight } from './single-flight';

/**
 * The response cache as one call sees it: `open` decides (policy.ts), looks the
 * key up, and waits for an identical call in flight (single-flight.ts); a miss
 * comes back with `offer`, which stores a complete answer and hands it to the
 * identical calls waiting here. Whoever opens a miss must offer exactly once
 * (undefined when the call failed), or the waiters wait out their timeout.
 */

export interface CacheInput {
  config: GatewayConfig;
  route: Route;
  operation: Operation;
  body: JsonObject;
  requestHeaders: Headers;
  keyId: string;
  kv: KVNamespace | undefined;
  ctx: { waitUntil(promise: Promise<unknown>): void };
  /** The call's admission: the cache reads KV meanwhile, but joins or leads a flight only once it is through. */
  admitted?: Promise<unknown>;
  /** Set when the call's answers differ from others' with the same body (its output guardrails): keys it apart. */
  variant?: string | undefined;
}

export interface CacheLookup {
  /** HIT, MISS, REFRESH or BYPASS; null when the cache is off for this model. */
  status: 'HIT' | 'MISS' | 'REFRESH' | 'BYPASS' | null;
  headers: Record<string, string>;
  /** The entry that answers this call. */
  hit?: CacheEntry;
  /** On a miss: offers the call's complete answer for storing, or undefined when there is none (the call failed). */
  offer(answer: JsonObject | undefined, servedBy?: Target): void;
  /** For a streamed miss: collects the chunks and offers the assembled answer at the end. */
  tap(servedBy: Target): StreamTap | undefined;
}

const OFF: Omit<CacheLookup, 'status' | 'headers'> = { offer: () => {}, tap: () => undefined };

export async function openCache(input: CacheInput): Promise<CacheLookup> {
  const { config, route, operation, body } = input;
  const decision = await planCache(config, route, operation, body, input.requestHeaders, input.keyId, input.variant);
  if (!decision) return { status: null, headers: {}, ...OFF };
  if (!('use' in decision)) return { status: 'BYPASS', headers: cacheHeaders('BYPASS'), ...OFF };
  const plan = decision.use;
  const status = plan.lookup ? 'MISS' : 'REFRESH';
  // Names the KV key, so an operator can purge this one entry (README, "Response cache").
  const headers = { ...cacheHeaders(status), 'x-gateway-cache-key': plan.key };
  const stored = plan.lookup ? await readEntry(input.kv, plan.key, Date.now()) : undefined;
  await input.admitted;
  if (plan.lookup) {
    const entry = stored ?? (await joinFlight(plan.key, Math.max(...route.targets.map((t) => t.timeouts.total_ms))));
    if (entry?.endpoint === operation) return { status: 'HIT', headers, hit: entry, ...OFF };
  }
  const flight = plan.store ? leadFlight(plan.key) : undefined;
  const offer = (answer: JsonObject | undefined, servedBy?: Target) => {
    let entry: CacheEntry | undefined;
    if (plan.store && answer && servedBy && isStorable(operation, answer, plan.policy)) {
      entry = newEntry(operation, answer, servedBy.provider, servedBy.model, plan.ttlMs);
      const write = writeEntry(input.kv, plan.key, entry, plan.policy.max_entry_bytes);
      if (write) input.ctx.waitUntil(write);
    }
    flight?.land(entry);
  };
  return {
    status,
    headers,
    offer,
    tap(servedBy) {
      if (!plan.store) return undefined;
      const assembler = new StreamAssembler(operation);
      return {
        chunk: (data) => assembler.push(data),
        end: (complete) => offer(complete ? assembler.result() : undefined, servedBy),
      };
    },
  };
}
