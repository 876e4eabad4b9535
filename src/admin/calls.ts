import { z } from 'zod';
import { TAG_NAME } from '../config/log-schema';
import { GatewayError } from '../errors';
import { iso, type Range, RangeQuery } from './range';

/**
 * Recent calls, newest first, with filters and a cursor; and one call with its
 * attempts. Every list query is bounded by the range on `ts` (calls_by_ts, or the
 * key, model, cache-status and errors indexes, which all end in ts); the cursor is
 * the last row's (ts, request_id), so a page never re-reads the ones before it.
 */

const COLUMNS = `request_id, ts, key_id, endpoint, model, provider, upstream_model, stream, status, error_code,
  stream_cut, latency_ms, ttfb_ms, prompt_tokens, completion_tokens, cached_tokens, usage_source, attempts,
  cache_status, cost_usd, saved_usd, limit_status, limited_by, metadata`;

const STATUS = /^(2xx|4xx|5xx|499|error|[1-5]\d\d)$/;

export const CallsQuery = RangeQuery.extend({
  key: z.string().min(1).max(64).optional(),
  model: z.string().min(1).max(256).optional(),
  status: z.string().regex(STATUS, 'must be 2xx, 4xx, 5xx, 499, error, or a status code').optional(),
  cache: z.enum(['HIT', 'MISS', 'REFRESH', 'BYPASS']).optional(),
  /** `name:value` (the tag equals value) or `name` (the tag is set). */
  tag: z.string().min(1).max(300).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

export type CallsFilter = z.infer<typeof CallsQuery>;

function statusCondition(status: string): { sql: string; params: (string | number)[] } {
  switch (status) {
    case '2xx': return { sql: 'status BETWEEN 200 AND 299', params: [] };
    case '4xx': return { sql: 'status >= 400 AND status <= 498', params: [] };
    case '5xx': return { sql: 'status >= 500', params: [] };
    // The errors-only index's own condition (status >= 400) comes first, so it can serve.
    case 'error': return { sql: 'status >= 400 AND status <> 499', params: [] };
    default: return { sql: 'status = ?', params: [Number(status)] };
  }
}

function tagCondition(tag: string): { sql: string; params: string[] } {
  const colon = tag.indexOf(':');
  const name = colon < 0 ? tag : tag.slice(0, colon);
  if (!TAG_NAME.test(name)) throw new GatewayError('invalid_request', 'Tag names are 1-64 letters, digits, _ or -, starting with a letter', { param: 'tag' });
  const path = `$."${name}"`;
  if (colon < 0) return { sql: 'json_type(metadata, ?) IS NOT NULL', params: [path] };
  // Tags are strings, numbers or booleans: compare their text (true/false as written).
  return {
    sql: "CASE json_type(metadata, ?) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract(metadata, ?) AS TEXT) END = ?",
    params: [path, path, tag.slice(colon + 1)],
  };
}

function decodeCursor(cursor: string): { ts: string; id: string } {
  try {
    const [ts, id] = atob(cursor.replaceAll('-', '+').replaceAll('_', '/')).split('|');
    if (ts && id && !Number.isNaN(Date.parse(ts)) && /^[\w-]{1,64}$/.test(id)) return { ts, id };
  } catch {
    // falls through to the error below
  }
  throw new GatewayError('invalid_request', 'Invalid cursor: pass next_cursor from the previous page unchanged', { param: 'cursor' });
}

function encodeCursor(ts: string, id: string): string {
  return btoa(`${ts}|${id}`).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/** The list statement for a filter; exported for the EXPLAIN QUERY PLAN test. */
export function callsStatement(range: Range, filter: CallsFilter): { sql: string; params: (string | number)[] } {
  const where = ['ts >= ?', 'ts < ?'];
  const params: (string | number)[] = [iso(range.from), iso(range.to)];
  const add = (sql: string, ...values: (string | number)[]) => {
    where.push(sql);
    params.push(...values);
  };
  if (filter.key !== undefined) add('key_id = ?', filter.key);
  if (filter.model !== undefined) add('model = ?', filter.model);
  if (filter.status !== undefined) {
    const condition = statusCondition(filter.status);
    add(condition.sql, ...condition.params);
  }
  if (filter.cache !== undefined) add('cache_status = ?', filter.cache);
  if (filter.tag !== undefined) {
    const condition = tagCondition(filter.tag);
    add(condition.sql, ...condition.params);
  }
  if (filter.cursor !== undefined) {
    const after = decodeCursor(filter.cursor);
    add('ts <= ? AND (ts < ? OR request_id < ?)', after.ts, after.ts, after.id);
  }
  const sql = `SELECT ${COLUMNS} FROM calls WHERE ${where.join(' AND ')} ORDER BY ts DESC, request_id DESC LIMIT ?`;
  return { sql, params: [...params, filter.limit + 1] };
}

function withMetadata<T extends { metadata?: unknown }>(row: T): T {
  if (typeof row.metadata !== 'string') return row;
  try {
    return { ...row, metadata: JSON.parse(row.metadata) as unknown };
  } catch {
    return row;
  }
}

export async function listCalls(db: D1Database, range: Range, filter: CallsFilter) {
  const { sql, params } = callsStatement(range, filter);
  const { results } = await db.prepare(sql).bind(...params).all<{ ts: string; request_id: string; metadata: unknown }>();
  const page = results.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    range: { from: iso(range.from), to: iso(range.to) },
    calls: page.map(withMetadata),
    next_cursor: results.length > filter.limit && last ? encodeCursor(last.ts, last.request_id) : null,
  };
}

export async function callDetail(db: D1Database, requestId: string) {
  if (!/^[\w-]{1,64}$/.test(requestId)) throw new GatewayError('invalid_request', 'Invalid request id', { param: 'id' });
  const [call, attempts] = await db.batch([
    // Every column: the detail shows whatever the log records, columns added later included.
    db.prepare('SELECT * FROM calls WHERE request_id = ?').bind(requestId),
    db.prepare('SELECT n, provider, model, status, error_code, latency_ms, wait_ms, decision FROM attempts WHERE request_id = ? ORDER BY n').bind(requestId),
  ]);
  const row = call!.results[0] as { metadata?: unknown } | undefined;
  if (!row) throw new GatewayError('unknown_url', `No call ${requestId} in the log (it may be older than the retention window)`);
  return { call: withMetadata(row), attempts: attempts!.results };
}
