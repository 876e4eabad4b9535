import { agesOutAt, bucketAt, oldestCounted, periodAt, type Bucket } from './sliding-window';
import { windowGeometry, windowResetAfter, windowRetryAfter } from './sliding-window';
import type { PoolAsk, Rule, RuleState } from './types';

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
  /** A lease's concurrency slot pool (slot-pool.ts): counted at `slots` in every concurrency rule until `expires_ms`. */
  pool?: PoolAsk & { expires_ms: number };
}

export function gauge(sql: SqlStorage, rule: Rule, amounts: Amounts, now: number, prune: boolean): Gauge {
  switch (rule.kind) {
    case 'requests':
      return windowGauge(sql, rule, amounts.requests, amounts, now, prune, false);
    case 'tokens':
      return windowGauge(sql, rule, amounts.tokens, amounts, now, prune, true);
    case 'concurrency':
      return concurrencyGauge(sql, rule, amounts, now, prune);
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

function concurrencyGauge(sql: SqlStorage, rule: Rule, amounts: Amounts, now: number, prune: boolean): Gauge {
  if (prune) {
    sql.exec('DELETE FROM leases WHERE rule = ? AND expires_ms <= ?', rule.name, now);
    sql.exec('DELETE FROM pools WHERE rule = ? AND expires_ms <= ?', rule.name, now);
  }
  const pool = amounts.pool;
  // A pool counts at its full size; the pool being sized is counted at its new size instead of its old.
  const row = sql
    .exec<{ calls: number; pooled: number; first: number | null; last: number | null }>(
      `SELECT (SELECT COUNT(*) FROM leases WHERE rule = ? AND expires_ms > ?) AS calls,
              (SELECT COALESCE(SUM(slots), 0) FROM pools WHERE rule = ? AND expires_ms > ? AND id <> ?) AS pooled,
              (SELECT MIN(expires_ms) FROM leases WHERE rule = ? AND expires_ms > ?) AS first,
              MAX((SELECT COALESCE(MAX(expires_ms), 0) FROM leases WHERE rule = ?),
                  (SELECT COALESCE(MAX(expires_ms), 0) FROM pools WHERE rule = ? AND slots > 0)) AS last`,
      ...[rule.name, now, rule.name, now, pool?.id ?? '', rule.name, now, rule.name, rule.name],
    )
    .one();
  const used = row.calls + row.pooled;
  const amount = pool ? pool.slots : 1;
  const expires = pool ? pool.expires_ms : now + amounts.lease_ms;
  const last = row.last !== null && row.last > now ? row.last : null;
  return {
    rule,
    used,
    amount,
    fits: used + amount <= rule.limit + EPSILON,
    resetMs: last === null ? 0 : last - now,
    resetAfterAdmitMs: Math.max(0, (last === null ? expires : Math.max(last, expires)) - now),
    retryAfterMs: () =>
      row.first === null ? CONCURRENCY_RETRY_MAX_MS : Math.min(CONCURRENCY_RETRY_MAX_MS, Math.max(1, row.first - now)),
    commit: (id) => {
      if (pool) {
        sql.exec(
          `INSERT INTO pools (rule, id, slots, seq, expires_ms) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (rule, id) DO UPDATE SET slots = excluded.slots, seq = excluded.seq, expires_ms = excluded.expires_ms`,
          ...[rule.name, pool.id, pool.slots, pool.seq, pool.expires_ms],
        );
      } else {
        sql.exec('INSERT OR IGNORE INTO leases (rule, id, expires_ms) VALUES (?, ?, ?)', rule.name, id, expires);
      }
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
