import { agesOutAt, bucketAt, oldestCounted, periodAt, type Bucket } from './sliding-window';
import { windowGeometry, windowResetAfter, windowRetryAfter } from './sliding-window';
import type { Rule, RuleState } from './types';

/**
 * One rule evaluated against the Limiter's counters (limiter.ts documents the tables).
 * A gauge reads the rule's counters once; `commit` records the amount, and is called
 * only when every rule of the admission fits.
 */

/** USD amounts are floats: every comparison allows this much accumulated rounding. */
export const EPSILON = 1e-9;
/** A concurrency slot may free at any moment (settle): never advise waiting longer than this. */
const CONCURRENCY_RETRY_MAX_MS = 1_000;

/** Where a reservation was counted, so a settlement corrects exactly those counters. */
export interface Counted {
  /** Token buckets: [rule, bucket]. */
  t: [string, number][];
  /** Spend periods: [rule, period]. */
  c: [string, number][];
  /** Request buckets of a lease: [rule, bucket] (a call's one request is never corrected). */
  r?: [string, number][];
  /** Requests a lease counted in each of `r`. */
  n?: number;
}

export interface Gauge {
  rule: Rule;
  used: number;
  /** What this admission adds (0 when the rule is skipped). */
  amount: number;
  fits: boolean;
  resetMs: number;
  resetAfterAdmitMs: number;
  retryAfterMs(): number;
  commit(id: string, counted: Counted): void;
}

/** What one admission adds: a call's amounts, or a lease's slice. */
export interface Amounts {
  requests: number;
  tokens: number;
  cost: number;
  /** Concurrency lease lifetime. */
  lease_ms: number;
  /**
   * When sliding-window amounts are counted: now for a call; for a lease, the end of
   * the lease, the latest instant a call may be admitted against it. A call is then
   * never counted in an earlier bucket than its own, so it never ages out early.
   */
  at: number;
  lease: boolean;
}

export function gauge(sql: SqlStorage, rule: Rule, amounts: Amounts, now: number, prune: boolean): Gauge {
  switch (rule.kind) {
    case 'requests':
      return windowGauge(sql, rule, amounts.requests, amounts, now, prune, false);
    case 'tokens':
      return windowGauge(sql, rule, amounts.tokens, amounts, now, prune, true);
    case 'concurrency':
      return concurrencyGauge(sql, rule, amounts.lease_ms, now, prune);
    case 'spend_day':
    case 'spend_month':
      return spendGauge(sql, rule, rule.kind, amounts.cost, now, prune);
  }
}

function windowGauge(sql: SqlStorage, rule: Rule, amount: number, amounts: Amounts, now: number, prune: boolean, isTokens: boolean): Gauge {
  const g = windowGeometry(rule.window_ms);
  const oldest = oldestCounted(g, now);
  if (prune) sql.exec('DELETE FROM buckets WHERE rule = ? AND bucket < ?', rule.name, oldest);
  // Buckets ahead of now (leases) are counted too: there is no upper bound.
  const buckets = sql
    .exec<Bucket>('SELECT bucket, amount FROM buckets WHERE rule = ? AND bucket >= ? ORDER BY bucket', rule.name, oldest)
    .toArray()
    .filter((b) => b.amount > EPSILON);
  const used = buckets.reduce((sum, b) => sum + b.amount, 0);
  const newest = buckets.length > 0 ? buckets[buckets.length - 1]!.bucket : null;
  const target = bucketAt(g, amounts.at);
  return {
    rule,
    used,
    amount,
    fits: used + amount <= rule.limit + EPSILON,
    resetMs: windowResetAfter(g, newest, now),
    resetAfterAdmitMs: windowResetAfter(g, amount > 0 ? Math.max(target, newest ?? target) : newest, now),
    retryAfterMs: () => windowRetryAfter(g, buckets, rule.limit, amount, now, EPSILON),
    commit: (_id, counted) => {
      // Token rules always get their row (even for 0 tokens) so settle can correct it.
      if (amount <= 0 && !isTokens && !amounts.lease) return;
      sql.exec(
        `INSERT INTO buckets (rule, bucket, amount, expires_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT (rule, bucket) DO UPDATE SET amount = amount + excluded.amount`,
        rule.name,
        target,
        amount,
        agesOutAt(g, target),
      );
      if (isTokens) counted.t.push([rule.name, target]);
      else if (amounts.lease) (counted.r ??= []).push([rule.name, target]);
    },
  };
}

function concurrencyGauge(sql: SqlStorage, rule: Rule, lease_ms: number, now: number, prune: boolean): Gauge {
  if (prune) sql.exec('DELETE FROM leases WHERE rule = ? AND expires_ms <= ?', rule.name, now);
  const row = sql
    .exec<{ n: number; first: number | null; last: number | null }>(
      'SELECT COUNT(*) AS n, MIN(expires_ms) AS first, MAX(expires_ms) AS last FROM leases WHERE rule = ? AND expires_ms > ?',
      rule.name,
      now,
    )
    .one();
  const expires = now + lease_ms;
  return {
    rule,
    used: row.n,
    amount: 1,
    fits: row.n + 1 <= rule.limit + EPSILON,
    resetMs: row.last === null ? 0 : row.last - now,
    resetAfterAdmitMs: Math.max(0, row.last === null ? expires - now : Math.max(row.last, expires) - now),
    retryAfterMs: () =>
      row.first === null ? CONCURRENCY_RETRY_MAX_MS : Math.min(CONCURRENCY_RETRY_MAX_MS, Math.max(1, row.first - now)),
    commit: (id) => {
      sql.exec('INSERT OR IGNORE INTO leases (rule, id, expires_ms) VALUES (?, ?, ?)', rule.name, id, expires);
    },
  };
}

function spendGauge(sql: SqlStorage, rule: Rule, kind: 'spend_day' | 'spend_month', cost: number, now: number, prune: boolean): Gauge {
  const period = periodAt(kind, now);
  if (prune) sql.exec('DELETE FROM spend WHERE rule = ? AND period < ?', rule.name, period.key);
  const row = sql.exec<{ amount: number }>('SELECT amount FROM spend WHERE rule = ? AND period = ?', rule.name, period.key).toArray()[0];
  const used = row?.amount ?? 0;
  const untilEnd = period.end_ms - now;
  return {
    rule,
    used,
    amount: cost,
    // Zero-cost calls skip spend rules entirely: they fit even when the budget is spent.
    fits: cost === 0 || used + cost <= rule.limit + EPSILON,
    resetMs: untilEnd,
    resetAfterAdmitMs: untilEnd,
    retryAfterMs: () => untilEnd,
    commit: (_id, counted) => {
      if (cost === 0) return;
      sql.exec(
        `INSERT INTO spend (rule, period, amount, expires_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT (rule, period) DO UPDATE SET amount = amount + excluded.amount`,
        rule.name,
        period.key,
        cost,
        period.end_ms,
      );
      counted.c.push([rule.name, period.key]);
    },
  };
}

export function state(g: Gauge, admitted: boolean): RuleState {
  const used = admitted ? g.used + g.amount : g.used;
  return {
    name: g.rule.name,
    kind: g.rule.kind,
    limit: g.rule.limit,
    remaining: Math.max(0, g.rule.limit - used),
    reset_ms: admitted ? g.resetAfterAdmitMs : g.resetMs,
  };
}
