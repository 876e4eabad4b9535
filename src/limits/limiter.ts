import { DurableObject } from 'cloudflare:workers';
import { agesOutAt, bucketAt, DAY_MS, oldestCounted, periodAt, type Bucket } from './sliding-window';
import { windowGeometry, windowResetAfter, windowRetryAfter } from './sliding-window';
import type { AdmitRequest, AdmitResult, Rule, RuleState, RuleUsage, Settlement } from './types';

/**
 * Per-key limiter: one SQLite-backed Durable Object per caller key. The Worker
 * passes the rules on every call (see types.ts); the object keeps counters only.
 *
 * Storage (SQLite, `ctx.storage.sql`; everything survives eviction; the only
 * in-memory state is `nextPruneMs`, a hint that is fine to lose):
 *
 *  buckets(rule, bucket, amount, expires_ms)         -- `requests` and `tokens` rules
 *    rule        the rule name (its counter key; a name denotes one fixed window)
 *    bucket      bucket index floor(t / width), see sliding-window.ts
 *    amount      requests or tokens counted in that bucket (settle corrects tokens)
 *    expires_ms  when the bucket stops counting (agesOutAt): lets the periodic
 *                prune drop buckets of rules that are no longer configured
 *  spend(rule, period, amount, expires_ms)           -- `spend_day` / `spend_month`
 *    period      UTC day index or year * 12 + month
 *    amount      USD reserved/spent in that period (settle corrects it)
 *    expires_ms  the period's end, for the periodic prune
 *  leases(rule, id, expires_ms)                       -- `concurrency` rules
 *    one row per rule per in-flight reservation; counts while expires_ms > now.
 *    settle deletes the reservation's rows. Kept apart from `reservations` so
 *    that one call can hold leases on several concurrency rules.
 *  reservations(id, at_ms, lease_expires_ms, tokens, cost, counted, settled)
 *    one row per admitted call, so that settle() can find what it reserved:
 *    tokens/cost reserved, and `counted`, JSON {t: [[rule, bucket]...],
 *    c: [[rule, period]...]}: the token buckets and spend periods it was counted
 *    in. `settled` = 1 once settled (a second settle is then a no-op). Rows are
 *    pruned 2 days after both admission and lease expiry.
 *
 * Time: read only through `now()`. Tests replace it on the live instance:
 * `runInDurableObject(stub, (limiter) => { limiter.now = () => t; })` (the
 * override lives until the object is evicted).
 *
 * retry_after_ms of a refusal (how long until the same request would fit):
 *  requests/tokens  walk the buckets oldest to newest until enough has aged out
 *                   (exact for this algorithm); more than the limit: the window
 *  concurrency      until the earliest lease expires, clamped to [1, 1000] ms: a
 *                   settle can free a slot at any moment, so retry within 1 s
 *  spend_day/month  until the next UTC midnight / first of the next UTC month
 *                   (also when the cost alone exceeds the budget)
 *
 * USD amounts are floats: every `fits` comparison allows EPSILON (1e-9) of
 * accumulated rounding, so 0.1 + 0.2 + 0.7 fits a 1.00 budget.
 */

const EPSILON = 1e-9;
const RESERVATION_TTL_MS = 2 * DAY_MS;
const PRUNE_EVERY_MS = 60_000;
/** A concurrency slot may free at any moment (settle): never advise waiting longer than this. */
const CONCURRENCY_RETRY_MAX_MS = 1_000;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS buckets (rule TEXT NOT NULL, bucket INTEGER NOT NULL, amount REAL NOT NULL,
    expires_ms INTEGER NOT NULL, PRIMARY KEY (rule, bucket)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS spend (rule TEXT NOT NULL, period INTEGER NOT NULL, amount REAL NOT NULL,
    expires_ms INTEGER NOT NULL, PRIMARY KEY (rule, period)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS leases (rule TEXT NOT NULL, id TEXT NOT NULL, expires_ms INTEGER NOT NULL,
    PRIMARY KEY (rule, id)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS leases_by_id ON leases (id);
  CREATE TABLE IF NOT EXISTS reservations (id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL,
    lease_expires_ms INTEGER NOT NULL, tokens REAL NOT NULL, cost REAL NOT NULL,
    counted TEXT NOT NULL, settled INTEGER NOT NULL DEFAULT 0);
`;

interface Counted {
  t: [string, number][];
  c: [string, number][];
}

/** One rule, evaluated against the counters at `now`. */
interface Gauge {
  rule: Rule;
  used: number;
  /** What this request adds (0 when the rule is skipped). */
  amount: number;
  fits: boolean;
  resetMs: number;
  resetAfterAdmitMs: number;
  retryAfterMs(): number;
  /** Records the reservation (only called when every rule fits). */
  commit(id: string, counted: Counted): void;
}

type ReservationRow = { tokens: number; cost: number; counted: string; settled: number };

export class Limiter extends DurableObject {
  private readonly sql: SqlStorage;
  private nextPruneMs = 0;

  // Bindings are not used: the objects hold counters only (and env's type would import this file back).
  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA); // idempotent: every statement is IF NOT EXISTS
  }

  /** The clock. Replace on the instance in tests (see the header). */
  now(): number {
    return Date.now();
  }

  /**
   * Checks every rule and, only if all fit, reserves on all of them: one
   * synchronous transaction, so concurrent calls are serialised and a refusal
   * reserves nothing. Throws if `id` was already admitted (ids must be unique).
   */
  admit(request: AdmitRequest): AdmitResult {
    return this.ctx.storage.transactionSync((): AdmitResult => {
      const now = this.now();
      if (this.sql.exec('SELECT 1 AS x FROM reservations WHERE id = ?', request.id).toArray().length > 0) {
        throw new Error(`limiter: reservation id ${request.id} was already admitted`);
      }
      this.maybePrune(now);
      const gauges = request.rules.map((rule) => this.gauge(rule, request, now, true));
      const failing = gauges.find((g) => !g.fits);
      if (failing) {
        return {
          ok: false,
          rule: failing.rule.name,
          kind: failing.rule.kind,
          retry_after_ms: failing.retryAfterMs(),
          states: gauges.map((g) => state(g, false)),
        };
      }
      const counted: Counted = { t: [], c: [] };
      for (const g of gauges) g.commit(request.id, counted);
      this.sql.exec(
        'INSERT INTO reservations (id, at_ms, lease_expires_ms, tokens, cost, counted) VALUES (?, ?, ?, ?, ?, ?)',
        ...[request.id, now, now + nonNegative(request.lease_ms), nonNegative(request.tokens), nonNegative(request.cost)],
        JSON.stringify(counted),
      );
      return { ok: true, states: gauges.map((g) => state(g, true)) };
    });
  }

  /**
   * Ends reservation `id`: releases its leases and corrects its tokens and cost
   * to `actual` in the very buckets/periods it was counted in (those already
   * pruned are skipped). No-op for an unknown or already settled id.
   */
  settle(id: string, actual: Settlement): void {
    this.ctx.storage.transactionSync(() => {
      const row = this.sql
        .exec<ReservationRow>('SELECT tokens, cost, counted, settled FROM reservations WHERE id = ?', id)
        .toArray()[0];
      if (!row || row.settled !== 0) return;
      this.sql.exec('DELETE FROM leases WHERE id = ?', id);
      const counted = JSON.parse(row.counted) as Counted;
      const tokenDelta = (Number.isFinite(actual.tokens) ? nonNegative(actual.tokens) : row.tokens) - row.tokens;
      const costDelta = (Number.isFinite(actual.cost) ? nonNegative(actual.cost) : row.cost) - row.cost;
      if (tokenDelta !== 0) {
        for (const [rule, bucket] of counted.t) {
          this.sql.exec('UPDATE buckets SET amount = MAX(0, amount + ?) WHERE rule = ? AND bucket = ?', tokenDelta, rule, bucket);
        }
      }
      if (costDelta !== 0) {
        for (const [rule, period] of counted.c) {
          this.sql.exec('UPDATE spend SET amount = MAX(0, amount + ?) WHERE rule = ? AND period = ?', costDelta, rule, period);
        }
      }
      this.sql.exec('UPDATE reservations SET settled = 1 WHERE id = ?', id);
    });
  }

  /** What each rule currently counts in its window/period (read-only). */
  usage(rules: Rule[]): RuleUsage[] {
    const now = this.now();
    const probe: AdmitRequest = { id: '', rules, tokens: 0, cost: 0, lease_ms: 0 };
    return rules.map((rule) => ({ name: rule.name, used: this.gauge(rule, probe, now, false).used }));
  }

  private gauge(rule: Rule, request: AdmitRequest, now: number, prune: boolean): Gauge {
    switch (rule.kind) {
      case 'requests':
        return this.windowGauge(rule, 1, now, prune, false);
      case 'tokens':
        return this.windowGauge(rule, nonNegative(request.tokens), now, prune, true);
      case 'concurrency':
        return this.leaseGauge(rule, nonNegative(request.lease_ms), now, prune);
      case 'spend_day':
      case 'spend_month':
        return this.spendGauge(rule, rule.kind, nonNegative(request.cost), now, prune);
    }
  }

  private windowGauge(rule: Rule, amount: number, now: number, prune: boolean, isTokens: boolean): Gauge {
    const g = windowGeometry(rule.window_ms);
    const oldest = oldestCounted(g, now);
    if (prune) this.sql.exec('DELETE FROM buckets WHERE rule = ? AND bucket < ?', rule.name, oldest);
    const buckets = this.sql
      .exec<Bucket>('SELECT bucket, amount FROM buckets WHERE rule = ? AND bucket >= ? ORDER BY bucket', rule.name, oldest)
      .toArray()
      .filter((b) => b.amount > EPSILON);
    const used = buckets.reduce((sum, b) => sum + b.amount, 0);
    const newest = buckets.length > 0 ? buckets[buckets.length - 1]!.bucket : null;
    const current = bucketAt(g, now);
    return {
      rule,
      used,
      amount,
      fits: used + amount <= rule.limit + EPSILON,
      resetMs: windowResetAfter(g, newest, now),
      resetAfterAdmitMs: windowResetAfter(g, amount > 0 ? current : newest, now),
      retryAfterMs: () => windowRetryAfter(g, buckets, rule.limit, amount, now, EPSILON),
      commit: (_id, counted) => {
        // Token rules always get their row (even for 0 tokens) so settle can correct it.
        if (amount <= 0 && !isTokens) return;
        this.sql.exec(
          `INSERT INTO buckets (rule, bucket, amount, expires_ms) VALUES (?, ?, ?, ?)
           ON CONFLICT (rule, bucket) DO UPDATE SET amount = amount + excluded.amount`,
          rule.name,
          current,
          amount,
          agesOutAt(g, current),
        );
        if (isTokens) counted.t.push([rule.name, current]);
      },
    };
  }

  private leaseGauge(rule: Rule, lease_ms: number, now: number, prune: boolean): Gauge {
    if (prune) this.sql.exec('DELETE FROM leases WHERE rule = ? AND expires_ms <= ?', rule.name, now);
    const row = this.sql
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
        this.sql.exec('INSERT OR IGNORE INTO leases (rule, id, expires_ms) VALUES (?, ?, ?)', rule.name, id, expires);
      },
    };
  }

  private spendGauge(rule: Rule, kind: 'spend_day' | 'spend_month', cost: number, now: number, prune: boolean): Gauge {
    const period = periodAt(kind, now);
    if (prune) this.sql.exec('DELETE FROM spend WHERE rule = ? AND period < ?', rule.name, period.key);
    const row = this.sql
      .exec<{ amount: number }>('SELECT amount FROM spend WHERE rule = ? AND period = ?', rule.name, period.key)
      .toArray()[0];
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
        this.sql.exec(
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

  /** At most once a minute: drop whatever no longer counts, including counters of rules no longer configured. */
  private maybePrune(now: number): void {
    if (now < this.nextPruneMs) return;
    this.nextPruneMs = now + PRUNE_EVERY_MS;
    this.sql.exec('DELETE FROM buckets WHERE expires_ms <= ?', now);
    this.sql.exec('DELETE FROM spend WHERE expires_ms <= ?', now);
    this.sql.exec('DELETE FROM leases WHERE expires_ms <= ?', now);
    const horizon = now - RESERVATION_TTL_MS;
    this.sql.exec('DELETE FROM reservations WHERE at_ms < ? AND lease_expires_ms < ?', horizon, horizon);
  }
}

function state(g: Gauge, admitted: boolean): RuleState {
  const used = admitted ? g.used + g.amount : g.used;
  return {
    name: g.rule.name,
    kind: g.rule.kind,
    limit: g.rule.limit,
    remaining: Math.max(0, g.rule.limit - used),
    reset_ms: admitted ? g.resetAfterAdmitMs : g.resetMs,
  };
}

function nonNegative(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}
