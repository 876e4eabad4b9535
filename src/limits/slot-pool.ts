import { byNamespace, type LimiterNamespace as Namespace, type Waiter } from './namespace';
import { queueSettlement } from './settle-queue';
import type { PoolAsk, Rule } from './types';

/**
 * Concurrency slot pools, the isolate's side (limiter.ts has the object's). A
 * concurrency slot is held while a call runs and freed when it ends, so it cannot be
 * lent like a slice of requests. Instead the isolate holds a pool of slots per
 * (limiter object, rule set), sized by the object, and a call admitted from a quota
 * lease takes a slot from the pool and gives it back when it ends: no round trip.
 *
 * Never over-admit: the object counts a pool at its full size in every concurrency
 * rule (as if all its slots ran calls) and grants a size only if it fits what the rules
 * leave. A pool grows only through a lease grant (in the admission transaction) and
 * never below what the isolate may already run; it shrinks only from the isolate, which
 * stops using the slots before it says so. Updates carry a sequence number, so a late
 * one never undoes a newer one, and a grant whose size was overtaken by a shrink is not
 * used.
 *
 * Lifetime: while leases follow each other the pool row lives until the current lease
 * ends plus POOL_GRACE_MS, so the idle slots of an isolate that dies are free again
 * within seconds. When the chain of leases ends, the pool shrinks to the calls still
 * running, held as long as an exact-path slot (`limits.lease_s`), and to nothing once
 * they have ended.
 *
 * Which rule sets: each concurrency rule must allow a pool of at least MIN_SLOTS at
 * 1/SHARE of its limit (so a limit of 32 or more); smaller limits keep the exact
 * per-call path. Sizing: twice the most calls this isolate ran at once since the last
 * ask, at least FIRST_SLOTS, at most 1/SHARE of every limit. Bound on under-admission:
 * an isolate holds at most limit/SHARE slots it does not use; N isolates, N/SHARE of the
 * limit. Near the limit a pool no longer fits and calls take the exact path.
 */

const SHARE = 16;
const MIN_SLOTS = 2;
const FIRST_SLOTS = 8;


export interface Pool {
  id: string;
  ns: Namespace;
  object: string;
  key: string;
  /** Slots this isolate may use: the last size the object granted, or less after a shrink. */
  granted: number;
  inUse: number;
  /** The most in use at once since the last ask. */
  peak: number;
  seq: number;
  /** How long a shrunk pool's running calls stay counted: `limits.lease_s`. */
  holdMs: number;
}

const pools = new Map<Namespace, Map<string, Pool>>();

/** The largest pool the rules allow, or 0 when they have no concurrency rule. */
function capacity(rules: Rule[]): number {
  let cap = Infinity;
  for (const rule of rules) if (rule.kind === 'concurrency') cap = Math.min(cap, Math.floor(rule.limit / SHARE));
  return cap === Infinity ? 0 : cap;
}

export function hasConcurrency(rules: Rule[]): boolean {
  return rules.some((rule) => rule.kind === 'concurrency');
}

/**
 * The pool part of a lease ask, or undefined when these rules keep the exact path or
 * the pool cannot take one more call. Never asks for fewer slots than the isolate may
 * already be running: a grant may arrive after more calls took slots from the old size.
 */
export function askSlots(ns: Namespace, object: string, key: string, rules: Rule[], holdMs: number): PoolAsk | undefined {
  const cap = capacity(rules);
  if (cap < MIN_SLOTS) return undefined;
  const byKey = byNamespace(pools, ns);
  let pool = byKey.get(key);
  if (!pool) {
    pool = { id: `pool_${crypto.randomUUID()}`, ns, object, key, granted: 0, inUse: 0, peak: 0, seq: 0, holdMs };
    byKey.set(key, pool);
  }
  pool.holdMs = holdMs;
  const slots = Math.min(cap, Math.max(pool.granted, FIRST_SLOTS, 2 * pool.peak, pool.inUse + 1));
  if (slots <= pool.inUse) return undefined;
  pool.seq++;
  pool.peak = pool.inUse;
  return { id: pool.id, slots, seq: pool.seq };
}

export function poolAt(ns: Namespace, key: string): Pool | undefined {
  return pools.get(ns)?.get(key);
}

/** The pool a grant sized, if its size is still the newest word on it. */
export function adoptSlots(ns: Namespace, key: string, granted: PoolAsk): Pool | undefined {
  const pool = pools.get(ns)?.get(key);
  if (!pool || pool.id !== granted.id) return undefined;
  if (pool.seq === granted.seq) pool.granted = granted.slots;
  return pool;
}

export function hasFreeSlot(pool: Pool): boolean {
  return pool.inUse < pool.granted;
}

export function takeSlot(pool: Pool): void {
  pool.inUse++;
  if (pool.inUse > pool.peak) pool.peak = pool.inUse;
}

/** A call admitted from the pool ended; unless a lease is live or asked for, the pool shrinks to what still runs. */
export function freeSlot(pool: Pool, leased: boolean, ctx: Waiter): void {
  pool.inUse--;
  if (!leased) shrinkPool(pool, ctx);
}

/** Down to the calls still running (the isolate stops using the rest at once), queued like a settlement. */
export function shrinkPool(pool: Pool, ctx: Waiter): void {
  pool.granted = pool.inUse;
  pool.seq++;
  queueSettlement(pool.ns, pool.object, { id: pool.id, tokens: 0, cost: 0, pool: { slots: pool.inUse, seq: pool.seq, hold_ms: pool.holdMs } }, ctx);
  const byKey = pools.get(pool.ns);
  if (pool.inUse === 0 && byKey?.get(pool.key) === pool) byKey.delete(pool.key);
}

/**
 * An admission RPC carrying a pool ask failed: whether the object applied it is
 * unknown, so the isolate's own size is sent again (a newer sequence number wins).
 */
export function restatePool(ns: Namespace, key: string, ctx: Waiter): void {
  const pool = pools.get(ns)?.get(key);
  if (!pool) return;
  pool.seq++;
  queueSettlement(ns, pool.object, { id: pool.id, tokens: 0, cost: 0, pool: { slots: pool.granted, seq: pool.seq, hold_ms: pool.holdMs } }, ctx);
}
