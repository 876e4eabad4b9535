import type { LogSettings } from '../config/log-schema';
import { upstreamCalls, type CallRecord } from './call-record';

/**
 * The D1 call log writer. Rows are gathered per isolate and written with one
 * `batch()`: locally one INSERT per call costs more than the rest of the request
 * path. The request whose row opens a batch carries its flush in `waitUntil`, so no
 * promise crosses request contexts (workerd forbids I/O on behalf of another
 * request). Nothing here throws into a call: failures are retried once, then the
 * rows are counted as lost and reported.
 */

type Values = (string | number | null)[];

/**
 * The `calls` columns and where each value comes from, in one list: a new column
 * is one line here (and its migration).
 */
const CALL_COLUMNS: [string, (record: CallRecord, ts: string, endedAt: number) => string | number | null][] = [
  ['request_id', (r) => r.requestId],
  ['ts', (_, ts) => ts],
  ['key_id', (r) => r.keyId],
  ['endpoint', (r) => r.endpoint],
  ['model', (r) => r.model],
  ['provider', (r) => r.provider],
  ['upstream_model', (r) => r.upstreamModel],
  ['stream', (r) => (r.stream ? 1 : 0)],
  ['status', (r) => r.status],
  ['error_code', (r) => r.errorCode],
  ['stream_cut', (r) => (r.streamCut ? 1 : 0)],
  ['latency_ms', (r, _, endedAt) => Math.max(0, endedAt - r.startedAt)],
  ['ttfb_ms', (r) => (r.firstByteAt === null ? null : Math.max(0, r.firstByteAt - r.startedAt))],
  ['prompt_tokens', (r) => r.promptTokens],
  ['completion_tokens', (r) => r.completionTokens],
  ['attempts', (r) => upstreamCalls(r)],
  ['cache_status', (r) => r.cacheStatus],
  ['cost_usd', (r) => r.costUsd],
  ['cached_tokens', (r) => r.cachedTokens],
  ['limit_status', (r) => r.limitStatus],
  ['limited_by', (r) => r.limitedBy],
  ['saved_usd', (r) => r.savedUsd],
  // Who counted the tokens (migrations/0006): provider, gateway, or NULL with no tokens.
  ['usage_source', (r) => (r.promptTokens === null && r.completionTokens === null ? null : r.usageSource)],
  // Prompt tokens written to the provider's prompt cache (migrations/0007).
  ['cache_write_tokens', (r) => r.cacheWriteTokens],
  // The call's tags as JSON (migrations/0008, src/logging/metadata.ts).
  ['metadata', (r) => r.metadata],
  // Guardrails that fired, as JSON (migrations/0011); NULL when none did.
  ['guardrails', (r) => (r.guardrails.length > 0 ? JSON.stringify(r.guardrails) : null)],
];

const ATTEMPT_COLUMNS = ['request_id', 'n', 'ts', 'provider', 'model', 'status', 'error_code', 'latency_ms', 'wait_ms', 'decision'];

/**
 * One statement inserts a whole batch: the rows travel as one JSON array bound to
 * one parameter and are unpacked by SQLite (json_each). A batch of N statements
 * with a parameter per column costs D1's client far more to encode and send, and
 * D1 caps bound parameters at 100 per statement, which a multi-row VALUES would pass.
 */
function insertFromJson(table: string, columns: readonly string[]): string {
  const values = columns.map((_, i) => `value ->> ${i}`).join(', ');
  return `INSERT OR IGNORE INTO ${table} (${columns.join(', ')}) SELECT ${values} FROM json_each(?1)`;
}

const INSERT_CALLS = insertFromJson('calls', CALL_COLUMNS.map(([name]) => name));
const INSERT_ATTEMPTS = insertFromJson('attempts', ATTEMPT_COLUMNS);

interface Pending {
  calls: Values[];
  attempts: Values[];
}

let pending: Pending = { calls: [], attempts: [] };
let flushScheduled = false;
let lostRows = 0;

function queue(record: CallRecord, endedAt: number): void {
  const ts = new Date(record.startedAt).toISOString();
  pending.calls.push(CALL_COLUMNS.map(([, value]) => value(record, ts, endedAt)));
  record.attemptLog.forEach((a, i) => {
    pending.attempts.push([record.requestId, i + 1, ts, a.provider, a.model, a.status, a.errorCode, a.latencyMs, a.waitMs, a.decision]);
  });
}

/** Queues the call's row; the write happens inside `ctx.waitUntil`. */
export function logCall(
  db: D1Database | undefined,
  ctx: { waitUntil(promise: Promise<unknown>): void },
  record: CallRecord,
  settings: LogSettings,
): void {
  queue(record, Date.now());
  if (pending.calls.length >= settings.batch_size) {
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
  pending = { calls: [], attempts: [] };
  if (rows.calls.length === 0) return;
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      if (!db) throw new Error('no D1 binding named DB');
      const statements = [db.prepare(INSERT_CALLS).bind(JSON.stringify(rows.calls))];
      if (rows.attempts.length > 0) statements.push(db.prepare(INSERT_ATTEMPTS).bind(JSON.stringify(rows.attempts)));
      await db.batch(statements);
      return;
    } catch (error) {
      if (attempt === 2) {
        lostRows += rows.calls.length;
        console.error(`call log: lost ${rows.calls.length} call row(s) (${lostRows} since isolate start): ${String(error)}`);
      }
    }
  }
}
