import type { z } from 'zod';
import type { LogSettingsSchema } from '../config/schema';
import { upstreamCalls, type CallRecord } from './call-record';

/**
 * The D1 call log writer. Rows are gathered per isolate and written with one
 * `batch()`: locally one INSERT per call costs more than the rest of the request
 * path. The request whose row opens a batch carries its flush in `waitUntil`, so no
 * promise crosses request contexts (workerd forbids I/O on behalf of another
 * request). Nothing here throws into a call: failures are retried once, then the
 * rows are counted as lost and reported.
 */

export type LogSettings = z.infer<typeof LogSettingsSchema>;

const INSERT = `INSERT OR IGNORE INTO calls (
  request_id, ts, key_id, endpoint, model, provider, upstream_model, stream, status,
  error_code, stream_cut, latency_ms, ttfb_ms, prompt_tokens, completion_tokens,
  attempts, cache_status, cost_usd, cached_tokens, limit_status, limited_by, saved_usd, usage_source
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)`;

const INSERT_ATTEMPT = `INSERT OR IGNORE INTO attempts (
  request_id, n, ts, provider, model, status, error_code, latency_ms, wait_ms, decision
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)`;

/** A row for the `calls` table, or one for `attempts`. */
type Row = { sql: 'call' | 'attempt'; values: unknown[] };

let pending: Row[] = [];
let flushScheduled = false;
let lostRows = 0;

function toRows(record: CallRecord, endedAt: number): Row[] {
  const ts = new Date(record.startedAt).toISOString();
  const attempts: Row[] = record.attemptLog.map((a, i) => ({
    sql: 'attempt',
    values: [record.requestId, i + 1, ts, a.provider, a.model, a.status, a.errorCode, a.latencyMs, a.waitMs, a.decision],
  }));
  return [{ sql: 'call', values: callValues(record, ts, endedAt) }, ...attempts];
}

function callValues(record: CallRecord, ts: string, endedAt: number): unknown[] {
  return [
    record.requestId,
    ts,
    record.keyId,
    record.endpoint,
    record.model,
    record.provider,
    record.upstreamModel,
    record.stream ? 1 : 0,
    record.status,
    record.errorCode,
    record.streamCut ? 1 : 0,
    Math.max(0, endedAt - record.startedAt),
    record.firstByteAt === null ? null : Math.max(0, record.firstByteAt - record.startedAt),
    record.promptTokens,
    record.completionTokens,
    upstreamCalls(record),
    record.cacheStatus,
    record.costUsd,
    record.cachedTokens,
    record.limitStatus,
    record.limitedBy,
    record.savedUsd,
    // Who counted the tokens (migrations/0006): provider, gateway, or NULL with no tokens.
    record.promptTokens === null && record.completionTokens === null ? null : record.usageSource,
  ];
}

/** Queues the call's row; the write happens inside `ctx.waitUntil`. */
export function logCall(
  db: D1Database | undefined,
  ctx: { waitUntil(promise: Promise<unknown>): void },
  record: CallRecord,
  settings: LogSettings,
): void {
  pending.push(...toRows(record, Date.now()));
  if (pending.length >= settings.batch_size) {
    ctx.waitUntil(flush(db));
  } else if (!flushScheduled) {
    flushScheduled = true;
    ctx.waitUntil(
      new Promise((resolve) => setTimeout(resolve, settings.flush_ms)).then(() => {
        flushScheduled = false;
        return flush(db);
      }),
    );
  }
}

async function flush(db: D1Database | undefined): Promise<void> {
  const rows = pending;
  pending = [];
  if (rows.length === 0) return;
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      if (!db) throw new Error('no D1 binding named DB');
      const insert = { call: db.prepare(INSERT), attempt: db.prepare(INSERT_ATTEMPT) };
      await db.batch(rows.map((row) => insert[row.sql].bind(...row.values)));
      return;
    } catch (error) {
      if (attempt === 2) {
        lostRows += rows.length;
        console.error(
          `call log: lost ${rows.length} row(s) (${lostRows} since isolate start): ${String(error)}`,
        );
      }
    }
  }
}
