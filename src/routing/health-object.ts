import { DurableObject } from 'cloudflare:workers';
import { applyOutcome, claim, emptyRow, healthAt, isPristine, type BreakerRow } from './breaker';
import type { BreakerSettings, Outcome, TargetHealth } from './health-types';

/**
 * Fleet-wide target health: one SQLite-backed Durable Object (the Worker uses
 * the name "fleet") holding every target's circuit breaker and any wait a
 * provider asked for, so every isolate backs off together. The Worker passes
 * the breaker settings on every call; the object keeps only timestamps and
 * counts. The state machine itself is in breaker.ts (pure functions).
 *
 * Storage (SQLite, `ctx.storage.sql`; everything survives eviction, nothing
 * lives in memory):
 *
 *  targets(target, failures, open_until, retry_after_until, probe_until, unreachable)
 *    target             `provider/model`, the key
 *    failures           consecutive failures (reset by a success while closed
 *                       and by a successful probe)
 *    open_until         0 while closed; otherwise the end of the cooldown: the
 *                       breaker reads `open` before it and `half_open` from it on
 *                       (derived at read time, so no alarm is needed)
 *    retry_after_until  epoch ms until which a provider asked us to wait (429
 *                       retry-after); only ever raised, expires by time
 *    probe_until        epoch ms until which the claimed half-open probe holds
 *                       the slot (its lease); 0 when free
 *    unreachable        1 when the last failure got no answer at all (refused,
 *                       reset, no headers in time): such an open breaker is an
 *                       outage, never called as a last way out
 *
 *  A row that is closed, has no failures and no pending retry-after says
 *  nothing a missing row would not: it is deleted when written so, and every
 *  snapshot() deletes those whose retry-after has since passed. The table
 *  therefore holds only targets that are failing or blocked.
 *
 * Time: read only through `now()`; randomness (the cooldown jitter) only
 * through `random()`. Tests replace both on the live instance:
 * `runInDurableObject(stub, (health) => { health.now = () => t; })` (the
 * override lives until the object is evicted).
 *
 * Every method is synchronous and runs in `transactionSync`: the object handles
 * one call at a time and each read-modify-write is atomic, so of any number of
 * concurrent claimProbe() calls on a half-open target exactly one wins.
 */

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS targets (target TEXT PRIMARY KEY, failures INTEGER NOT NULL,
    open_until INTEGER NOT NULL, retry_after_until INTEGER NOT NULL, probe_until INTEGER NOT NULL,
    unreachable INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
`;
// Objects created before `unreachable` existed get the column once (SQLite has no ADD COLUMN IF NOT EXISTS).
const HAS_UNREACHABLE = "SELECT 1 FROM pragma_table_info('targets') WHERE name = 'unreachable'";
const ADD_UNREACHABLE = 'ALTER TABLE targets ADD COLUMN unreachable INTEGER NOT NULL DEFAULT 0';

const COLUMNS = 'target, failures, open_until, retry_after_until, probe_until, unreachable';

export class Health extends DurableObject {
  private readonly sql: SqlStorage;

  // Bindings are not used: the objects hold counters only (and env's type would import this file back).
  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA); // idempotent: IF NOT EXISTS
    if (this.sql.exec(HAS_UNREACHABLE).toArray().length === 0) this.sql.exec(ADD_UNREACHABLE);
  }

  /** The clock. Replace on the instance in tests (see the header). */
  now(): number {
    return Date.now();
  }

  /** Uniform in [0, 1), for the cooldown jitter. Replace on the instance in tests. */
  random(): number {
    return Math.random();
  }

  /**
   * Records one attempt's outcome for `target` and returns its state after it
   * (transitions: breaker.ts, applyOutcome). Unknown targets are created.
   */
  report(target: string, outcome: Outcome, settings: BreakerSettings): TargetHealth {
    return this.ctx.storage.transactionSync(() => {
      const now = this.now();
      const next = applyOutcome(this.load(target) ?? emptyRow(target), outcome, settings, now, () => this.random());
      this.store(next, now);
      return healthAt(next, now);
    });
  }

  /**
   * Every target that is failing or blocked, as of now (an open breaker whose
   * cooldown has passed reads `half_open`). Targets absent are healthy.
   */
  snapshot(): TargetHealth[] {
    return this.ctx.storage.transactionSync(() => {
      const now = this.now();
      this.sql.exec('DELETE FROM targets WHERE open_until = 0 AND failures = 0 AND retry_after_until <= ?', now);
      return this.sql
        .exec<BreakerRow>(`SELECT ${COLUMNS} FROM targets ORDER BY target`)
        .toArray()
        .map((row) => healthAt(row, now));
    });
  }

  /**
   * May the caller send a request to `target` now? closed (or unknown): true;
   * open, or waiting out a provider's retry-after: false; half_open: true for
   * exactly one caller, who holds the probe slot for `probe_lease_ms` unless it
   * reports first (an unreported probe's slot is free again once its lease ends).
   */
  claimProbe(target: string, settings: BreakerSettings): boolean {
    return this.ctx.storage.transactionSync(() => {
      const now = this.now();
      const row = this.load(target);
      if (!row) return true;
      const result = claim(row, settings, now);
      if (result.row) this.store(result.row, now);
      return result.granted;
    });
  }

  private load(target: string): BreakerRow | null {
    return this.sql.exec<BreakerRow>(`SELECT ${COLUMNS} FROM targets WHERE target = ?`, target).toArray()[0] ?? null;
  }

  private store(row: BreakerRow, now: number): void {
    if (isPristine(row, now)) {
      this.sql.exec('DELETE FROM targets WHERE target = ?', row.target);
      return;
    }
    this.sql.exec(
      `INSERT INTO targets (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (target) DO UPDATE SET failures = excluded.failures, open_until = excluded.open_until,
         retry_after_until = excluded.retry_after_until, probe_until = excluded.probe_until, unreachable = excluded.unreachable`,
      row.target,
      row.failures,
      row.open_until,
      row.retry_after_until,
      row.probe_until,
      row.unreachable,
    );
  }
}
