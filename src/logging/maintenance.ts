import { loadConfig } from '../config/load';
import type { Env } from '../env';
import { rollFinishedHours } from './rollup';
import { deleteOldCalls, deleteOldPayloads } from './retention';

/**
 * The log's upkeep, run by the cron trigger (src/index.ts `scheduled`) and by hand
 * (the admin API): roll finished hours into `call_hours`, then delete raw calls,
 * attempts and payload objects older than `log.retention_days`. Every step is
 * bounded (MAINTENANCE_BOUNDS), so one run never holds D1 long; a backlog is worked
 * off over several runs. Raw calls are deleted only once their hour is rolled, so a
 * rollup that lags (a failed run, a long backlog) never loses an hour.
 */

export const DAY_MS = 86_400_000;

export interface MaintenanceBounds {
  /** Finished hours rolled in one run at most. */
  maxHours: number;
  /** Calls deleted by one statement (their attempts go in the same transaction). */
  batchRows: number;
  /** Delete statements in one run at most. */
  maxBatches: number;
  /** R2 list-and-delete rounds in one run at most. */
  maxPayloadRounds: number;
  /** Payload objects listed (and deleted) in one round, at most R2's 1,000. */
  payloadPage: number;
}

/** Every 15 minutes (wrangler.toml), these delete up to 800,000 calls an hour: 220 calls/s sustained. */
export const MAINTENANCE_BOUNDS: MaintenanceBounds = { maxHours: 48, batchRows: 5000, maxBatches: 40, maxPayloadRounds: 10, payloadPage: 1000 };

/** Past the call deadline, a call that started in an hour can no longer be logged: the hour is finished. */
const LOG_MARGIN_MS = 60_000;

export interface MaintenanceReport {
  /** The instant the run took as now (ISO). */
  now: string;
  /** Hours rolled into call_hours by this run. */
  rolledHours: string[];
  /** Every call that started before this (ISO) is in call_hours. */
  rolledThrough: string;
  /** Raw rows older than this (ISO) are deleted (the retention cutoff, or rolledThrough if earlier). */
  deletedBefore: string;
  deletedCalls: number;
  deletedAttempts: number;
  /** Payload objects of UTC days before this one ('YYYY-MM-DD') are deleted. */
  payloadsDeletedBefore: string;
  deletedPayloads: number;
  /** False when a bound stopped the run with work left (the next run continues). */
  done: boolean;
}

export async function runMaintenance(env: Env, now: number = Date.now(), limits: Partial<MaintenanceBounds> = {}): Promise<MaintenanceReport> {
  const bounds = { ...MAINTENANCE_BOUNDS, ...limits };
  const config = loadConfig(env.GATEWAY_CONFIG);
  const retentionCutoff = now - config.log.retention_days * DAY_MS;
  const rolled = await rollFinishedHours(env.DB, now, config.routing.deadline_ms + LOG_MARGIN_MS, bounds.maxHours);
  const deletedBefore = new Date(Math.min(retentionCutoff, rolled.rolledThrough)).toISOString();
  const calls = await deleteOldCalls(env.DB, deletedBefore, bounds.batchRows, bounds.maxBatches);
  const payloadsDeletedBefore = new Date(retentionCutoff).toISOString().slice(0, 10);
  const payloads = env.PAYLOADS ? await deleteOldPayloads(env.PAYLOADS, payloadsDeletedBefore, bounds.maxPayloadRounds, bounds.payloadPage) : { objects: 0, done: true };
  return {
    now: new Date(now).toISOString(),
    rolledHours: rolled.hours,
    rolledThrough: new Date(rolled.rolledThrough).toISOString(),
    deletedBefore,
    deletedCalls: calls.calls,
    deletedAttempts: calls.attempts,
    payloadsDeletedBefore,
    deletedPayloads: payloads.objects,
    done: rolled.done && calls.done && payloads.done,
  };
}
