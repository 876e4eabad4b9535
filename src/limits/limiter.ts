import { DurableObject } from 'cloudflare:workers';
import { gauge, state, type Amounts, type Counted, type Gauge } from './gauges';
import { DAY_MS, windowGeometry } from './sliding-window';
import { POOL_GRACE_MS, type AdmitRequest, type AdmitResult, type LeaseAsk, type Rule, type RuleUsage, type SettleItem } from './types';
import { positiveOrZero } from '../core/values';

/**
 * Per-key limiter: one SQLite-backed Durable Object per caller key. The Worker
 * passes the rules on every call (see types.ts); the object keeps counters only.
 *
 * Storage (SQLite, `ctx.storage.sql`; everything survives eviction; the only
 * in-memory state is `nextPruneMs`, a hint that is fine to lose):
 *
 *  buckets(rule, bucket, amount, expires_ms)         -- `requests` and `tokens` rules
 *    rule        the rule name (its counter key; a name denotes one fixed window)
 *    bucket      bucket index floor(t / width), see sliding-window.ts; a quota
 *                lease is counted in the bucket of its end, which may be ahead of now
 *    amount      requests or tokens counted in that bucket (settle corrects tokens,
 *                and the requests of a lease)
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
 *  pools(rule, id, slots, seq, expires_ms)            -- `concurrency` rules
 *    an isolate's concurrency slot pool (slot-pool.ts), one row per rule; counts
 *    `slots` while expires_ms > now. `seq` is the newest update applied: an older
 *    one arriving late is ignored.
 *  reservations(id, at_ms, lease_expires_ms, tokens, cost, counted, settled)
 *    one row per admitted call or granted quota lease, so that a settlement can
 *    find what it reserved: tokens/cost reserved, and `counted`, JSON {t: [[rule,
 *    bucket]...], c: [[rule, period]...], r?: [[rule, bucket]...], n?: requests}:
 *    the token buckets, spend periods and (leases only) request buckets it was
 *    counted in, and how many requests a lease counted in each. `settled` = 1 once
 *    settled (a second final settle is then a no-op; deltas still apply). Rows are
 *    pruned 2 days after both admission and lease expiry.
 *
 * Quota leases (admission.ts and lease-book.ts hold the isolate's side): an admit
 * with `lease` reserves a slice of every rule at once, counted like an admission,
 * so the object never grants more than remains, for at most `lease.lease_ms`, the
 * smallest bucket width of the window rules, and the time left in the current spend
 * period (so a lease never spends a period's budget in the next one). A rule set with
 * concurrency rules is leased only with a slot pool: the pool, at the size asked,
 * must fit every concurrency rule beside the calls and other pools counted there, and
 * counts until the lease ends plus POOL_GRACE_MS. Sliding-window amounts are
 * counted in the bucket of the lease's end: calls admitted against it are never
 * counted earlier than they happened, so they never age out early.
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

const RESERVATION_TTL_MS = 2 * DAY_MS;
const PRUNE_EVERY_MS = 60_000;
/** A lease shorter than this is not worth a grant: the call is admitted alone. */
const MIN_LEASE_MS = 10;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS buckets (rule TEXT NOT NULL, bucket INTEGER NOT NULL, amount REAL NOT NULL,
    expires_ms INTEGER NOT NULL, PRIMARY KEY (rule, bucket)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS spend (rule TEXT NOT NULL, period INTEGER NOT NULL, amount REAL NOT NULL,
    expires_ms INTEGER NOT NULL, PRIMARY KEY (rule, period)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS leases (rule TEXT NOT NULL, id TEXT NOT NULL, expires_ms INTEGER NOT NULL,
    PRIMARY KEY (rule, id)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS leases_by_id ON leases (id);
  CREATE TABLE IF NOT EXISTS pools (rule TEXT NOT NULL, id TEXT NOT NULL, slots INTEGER NOT NULL, seq INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL, PRIMARY KEY (rule, id)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS pools_by_id ON pools (id);
  CREATE TABLE IF NOT EXISTS reservations (id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL,
    lease_expires_ms INTEGER NOT NULL, tokens REAL NOT NULL, cost REAL NOT NULL,
    counted TEXT NOT NULL, settled INTEGER NOT NULL DEFAULT 0);
`;

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
   * Applies the settlements the request carries, then checks every rule and, only if
   * all fit, reserves on all of them: one synchronous transaction, so concurrent
   * calls are serialised and a refusal reserves nothing. With `lease`, first tries to
   * grant the lease (the call is then the isolate's to admit from it). Throws if an
   * id was already admitted (ids must be unique).
   */
  admit(request: AdmitRequest): AdmitResult {
    return this.ctx.storage.transactionSync((): AdmitResult => {
      const now = this.now();
      for (const item of request.settle ?? []) this.settleOne(item, now);
      this.refuseReused(request.id);
      this.maybePrune(now);
      if (request.lease) {
        const granted = this.grant(request.rules, request.lease, now);
        if (granted) return granted;
        if (request.lease_only) return { ok: true, states: [] };
      }
      const amounts: Amounts = { requests: 1, tokens: positiveOrZero(request.tokens), cost: positiveOrZero(request.cost), lease_ms: positiveOrZero(request.lease_ms), at: now, lease: false };
      const gauges = request.rules.map((rule) => gauge(this.sql, rule, amounts, now, true));
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
      this.commit(request.id, gauges, now, now + amounts.lease_ms, amounts);
      return { ok: true, states: gauges.map((g) => state(g, true)) };
    });
  }

  /** Settles calls and leases in one transaction (see SettleItem): how an isolate's batch arrives. */
  settleMany(items: SettleItem[]): void {
    this.ctx.storage.transactionSync(() => {
      const now = this.now();
      for (const item of items) this.settleOne(item, now);
    });
  }

  /** One final settlement (see SettleItem). No-op for an unknown or already settled id. */
  settle(id: string, actual: { tokens: number; cost: number }): void {
    this.settleMany([{ id, tokens: actual.tokens, cost: actual.cost }]);
  }

  /** What each rule currently counts in its window/period (read-only). */
  usage(rules: Rule[]): RuleUsage[] {
    const now = this.now();
    const probe: Amounts = { requests: 0, tokens: 0, cost: 0, lease_ms: 0, at: now, lease: false };
    return rules.map((rule) => ({ name: rule.name, used: gauge(this.sql, rule, probe, now, false).used }));
  }

  private refuseReused(id: string): void {
    if (this.sql.exec('SELECT 1 AS x FROM reservations WHERE id = ?', id).toArray().length > 0) {
      throw new Error(`limiter: reservation id ${id} was already admitted`);
    }
  }

  /** The lease, if every rule can lend its slice now; undefined to admit the call alone. */
  private grant(rules: Rule[], ask: LeaseAsk, now: number): AdmitResult | undefined {
    let lease_ms = positiveOrZero(ask.lease_ms);
    for (const rule of rules) {
      if (rule.kind === 'concurrency' && !ask.pool) return undefined;
      if (rule.kind === 'requests' || rule.kind === 'tokens') lease_ms = Math.min(lease_ms, windowGeometry(rule.window_ms).width);
    }
    if (ask.pool && !this.poolUpdateIsNewest(ask.pool.id, ask.pool.seq)) return undefined;
    for (const g of rules.map((rule) => gauge(this.sql, rule, { requests: 0, tokens: 0, cost: 0, lease_ms: 0, at: now, lease: false }, now, false))) {
      if (g.rule.kind === 'spend_day' || g.rule.kind === 'spend_month') lease_ms = Math.min(lease_ms, g.resetMs);
    }
    if (lease_ms < MIN_LEASE_MS) return undefined;
    this.refuseReused(ask.id);
    const pool = ask.pool && { id: ask.pool.id, slots: positiveOrZero(ask.pool.slots), seq: ask.pool.seq, expires_ms: now + lease_ms + POOL_GRACE_MS };
    const amounts: Amounts = { requests: positiveOrZero(ask.requests), tokens: positiveOrZero(ask.tokens), cost: positiveOrZero(ask.cost), lease_ms: 0, at: now + lease_ms, lease: true, pool };
    const gauges = rules.map((rule) => gauge(this.sql, rule, amounts, now, true));
    if (!gauges.every((g) => g.fits)) return undefined;
    this.commit(ask.id, gauges, now, now + lease_ms, amounts);
    return {
      ok: true,
      states: gauges.map((g) => state(g, true)),
      lease: { id: ask.id, requests: amounts.requests, tokens: amounts.tokens, cost: amounts.cost, lease_ms, ...(ask.pool && { pool: ask.pool }) },
    };
  }

  /** Pool updates may arrive out of order (a grant in one RPC, a shrink in a batch): only a newer one applies. */
  private poolUpdateIsNewest(id: string, seq: number): boolean {
    const row = this.sql.exec<{ seq: number }>('SELECT MAX(seq) AS seq FROM pools WHERE id = ?', id).one();
    return row.seq === null || seq > row.seq;
  }

  /** A pool shrinks (slot-pool.ts): never grows here, so it needs no check against the rules. */
  private shrinkPool(id: string, update: NonNullable<SettleItem['pool']>, now: number): void {
    if (!this.poolUpdateIsNewest(id, update.seq)) return;
    const slots = positiveOrZero(update.slots);
    if (slots === 0) {
      this.sql.exec('DELETE FROM pools WHERE id = ?', id);
      return;
    }
    this.sql.exec('UPDATE pools SET slots = MIN(slots, ?), seq = ?, expires_ms = ? WHERE id = ?', slots, update.seq, now + positiveOrZero(update.hold_ms), id);
  }

  private commit(id: string, gauges: Gauge[], now: number, expires: number, amounts: Amounts): void {
    const counted: Counted = { t: [], c: [] };
    for (const g of gauges) g.commit(id, counted);
    if (amounts.lease) counted.n = amounts.requests;
    this.sql.exec(
      'INSERT INTO reservations (id, at_ms, lease_expires_ms, tokens, cost, counted) VALUES (?, ?, ?, ?, ?, ?)',
      ...[id, now, expires, amounts.tokens, amounts.cost],
      JSON.stringify(counted),
    );
  }

  private settleOne(item: SettleItem, now: number): void {
    if (item.pool) {
      this.shrinkPool(item.id, item.pool, now);
      return;
    }
    const row = this.sql
      .exec<ReservationRow>('SELECT tokens, cost, counted, settled FROM reservations WHERE id = ?', item.id)
      .toArray()[0];
    if (!row) return;
    const counted = JSON.parse(row.counted) as Counted;
    if (item.delta) {
      this.correct(counted, finite(item.tokens), finite(item.cost), finite(item.requests ?? 0));
      return;
    }
    if (row.settled !== 0) return;
    this.sql.exec('DELETE FROM leases WHERE id = ?', item.id);
    const tokenDelta = (Number.isFinite(item.tokens) ? positiveOrZero(item.tokens) : row.tokens) - row.tokens;
    const costDelta = (Number.isFinite(item.cost) ? positiveOrZero(item.cost) : row.cost) - row.cost;
    const requestDelta = item.requests !== undefined && Number.isFinite(item.requests) && counted.n !== undefined ? positiveOrZero(item.requests) - counted.n : 0;
    this.correct(counted, tokenDelta, costDelta, requestDelta);
    this.sql.exec('UPDATE reservations SET settled = 1 WHERE id = ?', item.id);
  }

  /** Adds the deltas to the very buckets/periods the reservation was counted in (pruned ones are skipped). */
  private correct(counted: Counted, tokens: number, cost: number, requests: number): void {
    const update = (table: 'buckets' | 'spend', key: 'bucket' | 'period', delta: number, where: [string, number][] | undefined) => {
      if (delta === 0) return;
      for (const [rule, at] of where ?? []) {
        this.sql.exec(`UPDATE ${table} SET amount = MAX(0, amount + ?) WHERE rule = ? AND ${key} = ?`, delta, rule, at);
      }
    };
    update('buckets', 'bucket', tokens, counted.t);
    update('spend', 'period', cost, counted.c);
    update('buckets', 'bucket', requests, counted.r);
  }

  /** At most once a minute: drop whatever no longer counts, including counters of rules no longer configured. */
  private maybePrune(now: number): void {
    if (now < this.nextPruneMs) return;
    this.nextPruneMs = now + PRUNE_EVERY_MS;
    this.sql.exec('DELETE FROM buckets WHERE expires_ms <= ?', now);
    this.sql.exec('DELETE FROM spend WHERE expires_ms <= ?', now);
    this.sql.exec('DELETE FROM leases WHERE expires_ms <= ?', now);
    this.sql.exec('DELETE FROM pools WHERE expires_ms <= ?', now);
    const horizon = now - RESERVATION_TTL_MS;
    this.sql.exec('DELETE FROM reservations WHERE at_ms < ? AND lease_expires_ms < ?', horizon, horizon);
  }
}


function finite(n: number): number {
  return Number.isFinite(n) ? n : 0;
}
