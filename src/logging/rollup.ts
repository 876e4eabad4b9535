import { HOUR_MS, hourStart, latencyHistogramSql, statusClassSql } from './rollup-shape';

/**
 * Rolls finished hours of `calls` into `call_hours` (migrations/0008). An hour is
 * rolled whole, in one transaction that first clears it: rolling it again gives the
 * same rows. An hour is finished once no call that started in it can still be
 * logged (its row is written when the call ends, with its arrival time).
 */

const ROLL_HOUR = `INSERT INTO call_hours (
  hour, key_id, model, provider, status_class, cache_status, calls, errors, stream_cuts,
  prompt_tokens, completion_tokens, cost_usd, saved_usd, latency_ms_sum, ttfb_ms_sum, ttfb_count, latency_hist
)
SELECT ?1, COALESCE(key_id, ''), COALESCE(model, ''), COALESCE(provider, ''), ${statusClassSql('status')}, COALESCE(cache_status, ''),
  COUNT(*), COUNT(error_code), COALESCE(SUM(stream_cut), 0),
  COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0), TOTAL(cost_usd), TOTAL(saved_usd),
  COALESCE(SUM(latency_ms), 0), COALESCE(SUM(ttfb_ms), 0), COUNT(ttfb_ms), ${latencyHistogramSql('latency_ms')}
FROM calls WHERE ts >= ?1 AND ts < ?2
GROUP BY 2, 3, 4, 5, 6`;

/** Rolls one hour (its start, as hourStart() spells it), replacing whatever was rolled for it before. */
export async function rollHour(db: D1Database, hour: string): Promise<void> {
  const end = new Date(Date.parse(hour) + HOUR_MS).toISOString();
  await db.batch([db.prepare('DELETE FROM call_hours WHERE hour = ?1').bind(hour), db.prepare(ROLL_HOUR).bind(hour, end)]);
}

export interface RollResult {
  /** Hours rolled by this run (those with calls; empty hours have no rows). */
  hours: string[];
  /** Every call that started before this instant (ms) is in the rollups. */
  rolledThrough: number;
  /** False when `maxHours` stopped the run before the last finished hour. */
  done: boolean;
}

/**
 * Rolls every finished hour after the last one rolled, at most `maxHours` of them
 * (a long backlog is caught up over several runs). Hours without calls are jumped
 * over with one indexed look-up, so an idle week costs nothing.
 */
export async function rollFinishedHours(db: D1Database, now: number, graceMs: number, maxHours: number): Promise<RollResult> {
  const finishedBefore = Math.floor((now - graceMs) / HOUR_MS) * HOUR_MS;
  const last = await db.prepare('SELECT MAX(hour) AS hour FROM call_hours').first<{ hour: string | null }>();
  let from = last?.hour ? Date.parse(last.hour) + HOUR_MS : 0;
  const hours: string[] = [];
  let done = true;
  while (from < finishedBefore) {
    const next = await db
      .prepare('SELECT MIN(ts) AS ts FROM calls WHERE ts >= ?1 AND ts < ?2')
      .bind(new Date(from).toISOString(), new Date(finishedBefore).toISOString())
      .first<{ ts: string | null }>();
    if (!next?.ts) break;
    if (hours.length === maxHours) {
      done = false;
      break;
    }
    const hour = hourStart(Date.parse(next.ts));
    await rollHour(db, hour);
    hours.push(hour);
    from = Date.parse(hour) + HOUR_MS;
  }
  return { hours, rolledThrough: done ? finishedBefore : from, done };
}
