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

export interface AdmitRequest {
  /** Reservation id (the gateway request id); settle() refers to it. */
  id: string;
  rules: Rule[];
  /** Tokens to reserve against `tokens` rules. */
  tokens: number;
  /** USD to reserve against spend rules. Zero-cost calls skip spend rules entirely. */
  cost: number;
  /** Concurrency lease lifetime: a lease never settled stops counting after this. */
  lease_ms: number;
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

export type AdmitResult =
  | { ok: true; states: RuleState[] }
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
