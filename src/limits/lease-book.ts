import { byNamespace, type LimiterNamespace as Namespace, type Waiter } from './namespace';
import { flushAll, queueSettlement } from './settle-queue';
import { adoptSlots, askSlots, freeSlot, hasConcurrency, hasFreeSlot, poolAt, shrinkPool, takeSlot, type Pool } from './slot-pool';
import type { LeaseAsk, LeaseGrant, Rule, RuleState, SettleItem } from './types';

/**
 * Quota leases, the isolate's side (limiter.ts has the object's). An isolate holds at
 * most one lease per (limiter object, rule set): a slice of every rule, granted by the
 * object, which calls admit against here with no round trip. The call that finds no
 * usable lease asks for one in its admission RPC (at most one ask in flight per lease
 * key; meanwhile other calls without room wait for its answer, then take from the new
 * lease or, if it has no room for them either, the exact per-call path). Once half a lease is used,
 * the next is asked for in the background (waitUntil), so a busy key's calls keep
 * admitting locally. What a lease did not use is returned when it ends: on expiry (a
 * timer), when a call does not fit it, or when its successor arrives.
 *
 * Which rule sets are leased: a slice of at least MIN_SLICE calls that is at most
 * 1/SHARE of every rule's limit (else the rule is small: exact path). Spend rules
 * count the call's reserved cost, token rules its reserved tokens. With concurrency
 * rules, a lease also sizes the isolate's slot pool (slot-pool.ts, which says which
 * concurrency limits are large enough): a call from the lease also takes a slot, and
 * gives it back when it ends.
 *
 * Sizing: a slice is GROWTH times the calls the previous lease admitted (or, renewed
 * half-way, GROWTH times its size), within
 * [FIRST_SLICE, MAX_SLICE], then cut to 1/SHARE of every limit. Bound on
 * under-admission: an isolate holds at most 2/SHARE of each limit unused (its lease,
 * and for one flush after a renewal arrives, the rest of the previous one), each for
 * at most LEASE_MS (or the object's shorter grant); N isolates, at most 2N/SHARE.
 * Sliding windows also count a lease up to its length late (limiter.ts): refusals may
 * come up to LEASE_MS (at most one bucket width) before a per-call count would give them.
 *
 * In memory only (losing it is safe: a lost lease stays counted until its window
 * ages out, as a crashed isolate's would): `book` (live leases), `asking`, `demand`.
 */

export const LEASE_MS = 1000;
const MIN_SLICE = 2;
const FIRST_SLICE = 8;
/** A busy key reaches MAX_SLICE in a few leases: the calls that go to the object while a lease is asked for are the cost of each step. */
const GROWTH = 4;
const MAX_SLICE = 256;
const SHARE = 64;

/** The isolate's clock for leases. Tests replace `now`. */
export const leaseClock = { now: (): number => Date.now() };


/** What one call takes from a lease. */
export interface Need {
  tokens: number;
  cost: number;
}

export interface Lease {
  id: string;
  ns: Namespace;
  object: string;
  key: string;
  granted: { requests: number; tokens: number; cost: number };
  left: { requests: number; tokens: number; cost: number };
  /** The object's rule states right after the grant. */
  states: RuleState[];
  askedAt: number;
  expiresAt: number;
  admitted: number;
  open: boolean;
  /** A renewal was asked for (at most one per lease). */
  renewing: boolean;
  /** The slot pool its calls run in, for rule sets with concurrency rules. */
  pool: Pool | undefined;
}

const book = new Map<Namespace, Map<string, Lease>>();
/**
 * Lease asks in flight, per (object, rule set): settled when the ask is answered,
 * however. An ask whose request was torn down before its answer (workerd cancels a
 * disconnected client's pending I/O) never settles: past ASK_STALE_MS it no longer
 * blocks the next ask, nor keeps waiters.
 */
interface Ask {
  id: string;
  done: Promise<void>;
  resolve: () => void;
  at: number;
}
const asking = new Map<Namespace, Map<string, Ask>>();
const ASK_STALE_MS = 2000;
const demand = new Map<string, number>();
const signatures = new WeakMap<Rule[], string>();

/** Bounded like rules.ts's memo: one entry per (object, rule set) this isolate has leased. */
function remember(key: string, calls: number): void {
  if (demand.size >= 10_000 && !demand.has(key)) demand.clear();
  demand.set(key, calls);
}

/** One lease per object and rule set: a config change or another model gets its own. */
export function leaseKey(object: string, rules: Rule[]): string {
  let signature = signatures.get(rules);
  if (signature === undefined) {
    signature = rules.map((r) => `${r.name}=${r.limit}`).join('|');
    signatures.set(rules, signature);
  }
  return `${object}\n${signature}`;
}

function fits(lease: Lease, need: Need): boolean {
  return (
    lease.left.requests >= 1 &&
    lease.left.tokens >= need.tokens &&
    lease.left.cost + 1e-12 >= need.cost &&
    (lease.pool === undefined || hasFreeSlot(lease.pool))
  );
}

/** Takes one call (and a slot, with a pool) from the lease if it fits. */
function take(lease: Lease, need: Need): boolean {
  if (!fits(lease, need)) return false;
  lease.left.requests -= 1;
  lease.left.tokens -= need.tokens;
  lease.left.cost -= need.cost;
  lease.admitted++;
  if (lease.pool) takeSlot(lease.pool);
  return true;
}

/** Takes one call from the live lease if it fits; ends a lease that is expired or too small. */
export function takeFromLease(ns: Namespace, key: string, need: Need, now: number, ctx: Waiter): Lease | undefined {
  const lease = book.get(ns)?.get(key);
  if (!lease) return undefined;
  if (now < lease.expiresAt && take(lease, need)) return lease;
  endLease(lease, ctx);
  return undefined;
}

/**
 * Returns what the lease did not use (queued: the next admission RPC or batch carries
 * it). Unless a successor replaces it, its pool shrinks to the calls still running;
 * not while a lease is being asked for, whose answer sizes the pool (or, if none
 * comes, `askDone` shrinks it).
 */
export function endLease(lease: Lease, ctx: Waiter, replaced = false): void {
  if (!lease.open) return;
  lease.open = false;
  const byKey = book.get(lease.ns);
  if (byKey?.get(lease.key) === lease) byKey.delete(lease.key);
  remember(lease.key, lease.admitted);
  const used = (k: 'requests' | 'tokens' | 'cost') => lease.granted[k] - lease.left[k];
  queueSettlement(lease.ns, lease.object, { id: lease.id, requests: used('requests'), tokens: used('tokens'), cost: used('cost') }, ctx);
  if (lease.pool && !replaced && !askPending(lease.ns, lease.key)) shrinkPool(lease.pool, ctx);
}

/**
 * The lease to ask for with this call's admission, or undefined for the exact per-call
 * path. `holdMs`: how long a running call's concurrency slot stays counted (`limits.lease_s`).
 */
export function askFor(ns: Namespace, object: string, key: string, rules: Rule[], need: Need, holdMs: number): LeaseAsk | undefined {
  if (askPending(ns, key)) return undefined;
  let slice = Math.min(MAX_SLICE, Math.max(FIRST_SLICE, GROWTH * (demand.get(key) ?? 0)));
  for (const rule of rules) {
    if (rule.kind === 'concurrency') continue;
    const per = rule.kind === 'requests' ? 1 : rule.kind === 'tokens' ? need.tokens : need.cost;
    if (per > 0) slice = Math.min(slice, Math.floor(rule.limit / SHARE / per));
  }
  if (slice < MIN_SLICE) return undefined;
  const pooled = hasConcurrency(rules);
  const pool = pooled ? askSlots(ns, object, key, rules, holdMs) : undefined;
  if (pooled && !pool) return undefined;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const id = `lease_${crypto.randomUUID()}`;
  byNamespace(asking, ns).set(key, { id, done, resolve, at: Date.now() });
  return { id, requests: slice, tokens: slice * need.tokens, cost: slice * need.cost, lease_ms: LEASE_MS, ...(pool && { pool }) };
}

/**
 * The ask was answered (or failed). With no lease live after it, a pool the ask sized
 * shrinks to the calls still running (shrinks wait while an ask is out: see endLease).
 */
export function askDone(ns: Namespace, key: string, ask: LeaseAsk, ctx: Waiter): void {
  const inFlight = asking.get(ns);
  const pending = inFlight?.get(key);
  if (!pending || pending.id !== ask.id) return; // a stale ask, already replaced
  pending.resolve();
  inFlight!.delete(key);
  if (ask.pool && !live(ns, key)) {
    const pool = poolAt(ns, key);
    if (pool) shrinkPool(pool, ctx);
  }
}

function live(ns: Namespace, key: string): boolean {
  return book.get(ns)?.get(key)?.open === true;
}

/** An ask out and not stale: its answer will size the pool (a stale one may never answer). */
function askPending(ns: Namespace, key: string): boolean {
  const pending = asking.get(ns)?.get(key);
  return pending !== undefined && Date.now() - pending.at < ASK_STALE_MS;
}

/**
 * The lease ask in flight for these rules, if any. A call that finds no room in a
 * lease waits for it rather than making a round trip of its own: the answer comes no
 * later than its own would, and likely brings a lease the call fits.
 */
export function askInFlight(ns: Namespace, key: string): Promise<void> | undefined {
  const pending = asking.get(ns)?.get(key);
  if (!pending) return undefined;
  const left = pending.at + ASK_STALE_MS - Date.now();
  if (left <= 0) return undefined;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const stale = new Promise<void>((resolve) => (timer = setTimeout(resolve, left)));
  return Promise.race([pending.done, stale]).finally(() => clearTimeout(timer));
}

/**
 * Keeps a granted lease, takes the asking call from it, and returns the rest when it
 * expires. Returns undefined when the asking call does not fit it after all (its pool's
 * size was overtaken by a newer update): that call then needs the exact path.
 */
export function adopt(ns: Namespace, object: string, key: string, grant: LeaseGrant, states: RuleState[], askedAt: number, need: Need | undefined, ctx: Waiter): Lease | undefined {
  const byKey = byNamespace(book, ns);
  const previous = byKey.get(key);
  if (previous) endLease(previous, ctx, true);
  const lease: Lease = {
    id: grant.id,
    ns,
    object,
    key,
    granted: { requests: grant.requests, tokens: grant.tokens, cost: grant.cost },
    left: { requests: grant.requests, tokens: grant.tokens, cost: grant.cost },
    states,
    // The isolate's own clock, from before the ask: never later than the object's end of the lease.
    askedAt,
    expiresAt: askedAt + grant.lease_ms,
    admitted: 0,
    open: true,
    renewing: false,
    pool: grant.pool && adoptSlots(ns, key, grant.pool),
  };
  byKey.set(key, lease);
  // A concurrency rule set's lease without its pool admits nothing: it goes back at once.
  const fitted = need ? take(lease, need) : true;
  if (!fitted || (grant.pool && !lease.pool)) {
    endLease(lease, ctx);
    return undefined;
  }
  // The return goes out in this same waitUntil chain, not in one that would have to be added later.
  ctx.waitUntil(
    new Promise((resolve) => setTimeout(resolve, grant.lease_ms)).then(() => {
      if (!lease.open) return;
      endLease(lease, ctx);
      return flushAll();
    }),
  );
  return lease;
}

/**
 * A call admitted from `lease` ended: while the lease is open, what it reserved but did
 * not use goes back to the lease (or what it used beyond goes out of it); after, the
 * difference is sent to the object as a delta on the lease's counters.
 */
export function settleFromLease(lease: Lease, need: Need, actual: Need, ctx: Waiter): void {
  if (lease.pool) freeSlot(lease.pool, live(lease.ns, lease.key) || askPending(lease.ns, lease.key), ctx);
  const tokens = actual.tokens - need.tokens;
  const cost = actual.cost - need.cost;
  if (lease.open) {
    lease.left.tokens -= tokens;
    lease.left.cost -= cost;
  } else if (tokens !== 0 || cost !== 0) {
    const item: SettleItem = { id: lease.id, tokens, cost, delta: true };
    queueSettlement(lease.ns, lease.object, item, ctx);
  }
}

/** Rule states for a call admitted from the lease: the object's remaining at the grant plus what is left of the lease. */
export function leaseStates(lease: Lease, now: number): RuleState[] {
  const elapsed = Math.max(0, now - lease.askedAt);
  return lease.states.map((s) => {
    const left = s.kind === 'requests' ? lease.left.requests : s.kind === 'tokens' ? lease.left.tokens : lease.left.cost;
    if (s.kind === 'concurrency') return lease.pool ? { ...s, remaining: Math.max(0, s.remaining + lease.pool.granted - lease.pool.inUse) } : s;
    return { ...s, remaining: Math.max(0, s.remaining + left), reset_ms: Math.max(0, s.reset_ms - elapsed) };
  });
}

/**
 * Whether the call just taken should renew the lease in the background: once half of
 * it is used, so that a busy key gets its next lease before this one runs out and its
 * calls keep admitting locally. The next slice is GROWTH times this one.
 */
export function shouldRenew(lease: Lease): boolean {
  if (lease.renewing || !lease.open) return false;
  const poolHalfUsed = lease.pool !== undefined && lease.pool.inUse * 2 > lease.pool.granted;
  if (lease.left.requests >= lease.granted.requests / 2 && !poolHalfUsed) return false;
  lease.renewing = true;
  remember(lease.key, lease.granted.requests);
  return true;
}
