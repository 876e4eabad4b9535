/**
 * The contract between the Worker and the Limiter Durable Object. The Worker
 * compiles config into rules and passes them on every call, so the object holds
 * counters only, never config: a config change takes effect on the next request.
 */

export type RuleKind = 'requests' | 'tokens' | 'concurrency' | 'spend_day' | 'spend_month';

export interface Rule {
  /** Stable name, the counter's key in storage: e.g. `requests:10000`, `model:gpt-4o:tokens`. */
  name: string;
  kind: RuleKind;
  /** Requests, tokens, in-flight calls, or USD. */
  limit: number;
  /** Sliding window length, for `requests` and `tokens`. */
  window_ms?: number;
}

/**
 * Ends or corrects a reservation (a call's, or a quota lease's). Without `delta`: the
 * reservation's final usage; its concurrency leases are released, its counters set to
 * these amounts, once (a second one is a no-op). With `delta`: amounts added to the
 * counters the reservation was counted in, settled or not (a call admitted from a
 * lease that ended after its lease was returned). Deltas commute with everything, so
 * batches may arrive in any order.
 */
export interface SettleItem {
  id: string;
  tokens: number;
  cost: number;
  /** Requests used, for a lease (a call always counts one request). */
  requests?: number;
  delta?: boolean;
  /** Shrinks the concurrency slot pool `id` (slot-pool.ts) to `slots`, unless a newer update came first. */
  pool?: { slots: number; seq: number; hold_ms: number };
}

/** A granted pool counts until its lease ends plus this, unless renewed or shrunk (slot-pool.ts). */
export const POOL_GRACE_MS = 10_000;

/** A concurrency slot pool's size, asked for with a lease (slot-pool.ts); `seq` orders the pool's updates. */
export interface PoolAsk {
  id: string;
  slots: number;
  seq: number;
}

/** A quota lease the isolate asks for: a slice of every rule, admitted against locally. */
export interface LeaseAsk {
  id: string;
  requests: number;
  tokens: number;
  cost: number;
  /** The longest lease wanted; the object may grant a shorter one (see limiter.ts). */
  lease_ms: number;
  /** For rule sets with concurrency rules: the slot pool the lease's calls run in. */
  pool?: PoolAsk;
}

export interface AdmitRequest {
  /** Reservation id (the gateway request id); a settlement refers to it. */
  id: string;
  rules: Rule[];
  /** Tokens to reserve against `tokens` rules. */
  tokens: number;
  /** USD to reserve against spend rules. Zero-cost calls skip spend rules entirely. */
  cost: number;
  /** Concurrency lease lifetime: a lease never settled stops counting after this. */
  lease_ms: number;
  /** Settlements this isolate has queued for this object: applied first, in the same transaction. */
  settle?: SettleItem[];
  /** Grant a quota lease instead of admitting the call alone; if it does not fit, the call is admitted alone. */
  lease?: LeaseAsk;
  /** Renewal: grant the lease or nothing; no call is admitted (nothing is recorded under `id`). */
  lease_only?: boolean;
}

export interface RuleState {
  name: string;
  kind: RuleKind;
  limit: number;
  /** Left after this admission (never negative). */
  remaining: number;
  /** Until the rule's counters are back to their initial state. */
  reset_ms: number;
}

export interface LeaseGrant {
  id: string;
  requests: number;
  tokens: number;
  cost: number;
  /** How long the isolate may admit against it, from when it asked. */
  lease_ms: number;
  /** The slot pool, granted at the size asked for. */
  pool?: PoolAsk;
}

export type AdmitResult =
  | { ok: true; states: RuleState[]; lease?: LeaseGrant }
  | { ok: false; rule: string; kind: RuleKind; retry_after_ms: number; states: RuleState[] };

export interface Settlement {
  tokens: number;
  cost: number;
}

export interface RuleUsage {
  name: string;
  /** Amount counted in the rule's current window (requests, tokens, leases, USD). */
  used: number;
}
