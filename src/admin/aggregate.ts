import { LATENCY_BUCKETS_MS } from '../logging/rollup-shape';
import { HOUR, iso } from './range';

/**
 * Sums over calls in a time range, from two sources that never overlap:
 *  - `call_hours`, the hourly rollups (one row per hour, key, model, provider, status
 *    class, cache status), for whole hours before the rollup watermark (the last
 *    rolled hour's end);
 *  - `calls`, the raw rows, for the rest.
 * Both are read through an index on their time column (calls_by_ts, call_hours'
 * primary key), never scanned whole. The same sums come out of either, so a range
 * may mix them; latency percentiles come from the rollups' histogram then (bounds
 * below), or exactly from the raw rows when only raw rows are read (rawPercentiles).
 */

/** Upper bounds (ms, inclusive) of the latency histogram's bins, as in call_hours.latency_hist. */
export const LATENCY_BOUNDS = [...LATENCY_BUCKETS_MS, Infinity];

export interface Sums {
  calls: number;
  errors_4xx: number;
  errors_5xx: number;
  /** 499: the client left before the answer was complete (not counted as an error). */
  client_closed: number;
  stream_cuts: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  saved_usd: number;
  cache_hits: number;
  /** Calls that looked the cache up (HIT, MISS, REFRESH); BYPASS and no-cache calls did not. */
  cache_lookups: number;
  latency_ms_sum: number;
  ttfb_ms_sum: number;
  ttfb_count: number;
  hist: number[];
}

const SUM_FIELDS = [
  'calls', 'errors_4xx', 'errors_5xx', 'client_closed', 'stream_cuts', 'prompt_tokens', 'completion_tokens',
  'cost_usd', 'saved_usd', 'cache_hits', 'cache_lookups', 'latency_ms_sum', 'ttfb_ms_sum', 'ttfb_count',
] as const;

const LOOKUPS = "('HIT', 'MISS', 'REFRESH')";

const RAW_SUMS = [
  'COUNT(*) AS calls',
  'TOTAL(status BETWEEN 400 AND 498) AS errors_4xx',
  'TOTAL(status >= 500) AS errors_5xx',
  'TOTAL(status = 499) AS client_closed',
  'TOTAL(stream_cut) AS stream_cuts',
  'TOTAL(prompt_tokens) AS prompt_tokens',
  'TOTAL(completion_tokens) AS completion_tokens',
  'TOTAL(cost_usd) AS cost_usd',
  'TOTAL(saved_usd) AS saved_usd',
  "TOTAL(cache_status = 'HIT') AS cache_hits",
  `TOTAL(cache_status IN ${LOOKUPS}) AS cache_lookups`,
  'TOTAL(latency_ms) AS latency_ms_sum',
  'TOTAL(ttfb_ms) AS ttfb_ms_sum',
  'COUNT(ttfb_ms) AS ttfb_count',
  ...LATENCY_BOUNDS.map((upper, i) => {
    const lower = i === 0 ? '' : `latency_ms > ${LATENCY_BOUNDS[i - 1]}`;
    const below = Number.isFinite(upper) ? `latency_ms <= ${upper}` : '';
    return `TOTAL(${[lower, below].filter(Boolean).join(' AND ')}) AS h${i}`;
  }),
].join(', ');

const ROLLUP_SUMS = [
  'TOTAL(calls) AS calls',
  "TOTAL(CASE status_class WHEN '4xx' THEN calls END) AS errors_4xx",
  "TOTAL(CASE status_class WHEN '5xx' THEN calls END) AS errors_5xx",
  "TOTAL(CASE status_class WHEN '499' THEN calls END) AS client_closed",
  'TOTAL(stream_cuts) AS stream_cuts',
  'TOTAL(prompt_tokens) AS prompt_tokens',
  'TOTAL(completion_tokens) AS completion_tokens',
  'TOTAL(cost_usd) AS cost_usd',
  'TOTAL(saved_usd) AS saved_usd',
  "TOTAL(CASE WHEN cache_status = 'HIT' THEN calls END) AS cache_hits",
  `TOTAL(CASE WHEN cache_status IN ${LOOKUPS} THEN calls END) AS cache_lookups`,
  'TOTAL(latency_ms_sum) AS latency_ms_sum',
  'TOTAL(ttfb_ms_sum) AS ttfb_ms_sum',
  'TOTAL(ttfb_count) AS ttfb_count',
  ...LATENCY_BOUNDS.map((_, i) => `TOTAL(json_extract(latency_hist, '$[${i}]')) AS h${i}`),
].join(', ');

/** A grouping column: its expression over `calls` and over `call_hours` (where NULL is stored as ''). */
export interface Group {
  as: string;
  raw: string;
  rollup: string;
}

export const BY_KEY: Group = { as: 'key_id', raw: "COALESCE(key_id, '')", rollup: 'key_id' };
export const BY_MODEL: Group = { as: 'model', raw: "COALESCE(model, '')", rollup: 'model' };
export const BY_PROVIDER: Group = { as: 'provider', raw: "COALESCE(provider, '')", rollup: 'provider' };

/** Bucket index of each row: whole buckets of `bucketMs` since `from`. */
export function byBucket(from: number, bucketMs: number): Group {
  const index = (column: string) => `(CAST(strftime('%s', ${column}) AS INTEGER) * 1000 - ${from}) / ${bucketMs}`;
  return { as: 'bucket', raw: index('ts'), rollup: index('hour') };
}

export type Grouped = Sums & { group: Record<string, string | number> };

export function emptySums(): Sums {
  const zeros = Object.fromEntries(SUM_FIELDS.map((f) => [f, 0])) as Record<(typeof SUM_FIELDS)[number], number>;
  return { ...zeros, hist: LATENCY_BOUNDS.map(() => 0) };
}

export function addInto(into: Sums, more: Sums): Sums {
  for (const field of SUM_FIELDS) into[field] += more[field];
  more.hist.forEach((count, i) => (into.hist[i]! += count));
  return into;
}

function toSums(row: Record<string, unknown>): Sums {
  const sums = emptySums();
  for (const field of SUM_FIELDS) sums[field] = Number(row[field] ?? 0);
  sums.hist = LATENCY_BOUNDS.map((_, i) => Number(row[`h${i}`] ?? 0));
  return sums;
}

/** End of the last rolled-up hour (epoch ms), or null when there are no rollups. */
export async function rollupWatermark(db: D1Database): Promise<number | null> {
  const row = await db.prepare('SELECT MAX(hour) AS hour FROM call_hours').first<{ hour: string | null }>();
  return row?.hour ? Date.parse(row.hour) + HOUR : null;
}

export interface SumsQuery {
  from: number;
  to: number;
  groups: Group[];
  /** Read the rollups for the hours they cover (`from` must then be a whole hour). */
  rollups: boolean;
}

/** The raw and rollup statements for a query; exported for the EXPLAIN QUERY PLAN test. */
export function sumsStatements(query: SumsQuery, watermark: number | null): { sql: string; params: string[] }[] {
  const { from, to, groups } = query;
  const split = query.rollups && watermark !== null ? Math.min(Math.max(watermark, from), to) : from;
  const statements: { sql: string; params: string[] }[] = [];
  const groupBy = (side: 'raw' | 'rollup') =>
    groups.length === 0 ? '' : ` GROUP BY ${groups.map((g) => g[side]).join(', ')}`;
  const select = (side: 'raw' | 'rollup') => groups.map((g) => `${g[side]} AS ${g.as}, `).join('');
  if (split > from) {
    if (from % HOUR !== 0) throw new Error('rollups cover whole hours: `from` must be one');
    statements.push({
      sql: `SELECT ${select('rollup')}${ROLLUP_SUMS} FROM call_hours WHERE hour >= ?1 AND hour < ?2${groupBy('rollup')}`,
      params: [iso(from), iso(split)],
    });
  }
  if (to > split) {
    statements.push({
      sql: `SELECT ${select('raw')}${RAW_SUMS} FROM calls WHERE ts >= ?1 AND ts < ?2${groupBy('raw')}`,
      params: [iso(split), iso(to)],
    });
  }
  return statements;
}

/** Sums per group over [from, to), merged across the two sources. */
export async function sums(db: D1Database, query: SumsQuery): Promise<{ rows: Grouped[]; rolledUpTo: number | null }> {
  const watermark = query.rollups ? await rollupWatermark(db) : null;
  const statements = sumsStatements(query, watermark);
  const results = statements.length === 0 ? [] : await db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)));
  const merged = new Map<string, Grouped>();
  for (const result of results) {
    for (const row of result.results as Record<string, unknown>[]) {
      if (Number(row.calls ?? 0) === 0) continue; // an aggregate without GROUP BY always returns one row
      const group = Object.fromEntries(query.groups.map((g) => [g.as, row[g.as] as string | number]));
      const id = JSON.stringify(group);
      const existing = merged.get(id);
      if (existing) addInto(existing, toSums(row));
      else merged.set(id, { ...toSums(row), group });
    }
  }
  const rolledUpTo = watermark === null ? null : Math.min(Math.max(watermark, query.from), query.to);
  return { rows: [...merged.values()], rolledUpTo: rolledUpTo !== null && rolledUpTo > query.from ? rolledUpTo : null };
}

/** The q-quantile (0..1) of a latency histogram, interpolated linearly inside its bin. */
export function histogramQuantile(hist: number[], q: number): number | null {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < hist.length; i++) {
    const count = hist[i]!;
    if (count > 0 && below + count >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BOUNDS[i - 1]!;
      const upper = LATENCY_BOUNDS[i]!;
      if (!Number.isFinite(upper)) return lower;
      return Math.round(lower + ((upper - lower) * (rank - below)) / count);
    }
    below += count;
  }
  return null;
}

export interface PercentileQuery {
  table: 'calls' | 'attempts';
  /** The table's alias, when `partition` or `where` name columns through one. */
  alias?: string;
  /** The partition expression (one percentile pair per value), or a constant for the whole range. */
  partition: string;
  from: number;
  to: number;
  /** Extra conditions (trusted SQL) and their parameters, numbered from ?3. */
  where?: string;
  params?: (string | number)[];
}

/** The exact percentile statement (nearest rank); exported for the EXPLAIN QUERY PLAN test. */
export function percentileStatement(query: PercentileQuery): { sql: string; params: (string | number)[] } {
  const extra = query.where ? ` AND ${query.where}` : '';
  const t = query.alias ? `${query.alias}.` : '';
  const sql = `SELECT part, n, rn, latency_ms FROM (
      SELECT ${query.partition} AS part, ${t}latency_ms AS latency_ms,
        ROW_NUMBER() OVER (PARTITION BY ${query.partition} ORDER BY ${t}latency_ms) AS rn,
        COUNT(*) OVER (PARTITION BY ${query.partition}) AS n
      FROM ${query.table}${query.alias ? ` ${query.alias}` : ''} WHERE ${t}ts >= ?1 AND ${t}ts < ?2${extra})
    WHERE rn = (n * 50 + 99) / 100 OR rn = (n * 95 + 99) / 100`;
  return { sql, params: [iso(query.from), iso(query.to), ...(query.params ?? [])] };
}

/**
 * Exact p50 and p95 of latency_ms per partition, from the raw rows: each partition
 * is sorted once by the window functions and only the two ranked rows come back.
 */
export async function rawPercentiles(db: D1Database, query: PercentileQuery): Promise<Map<string, { p50: number; p95: number }>> {
  const { sql, params } = percentileStatement(query);
  const { results } = await db.prepare(sql).bind(...params).all<{ part: string | number; n: number; rn: number; latency_ms: number }>();
  const out = new Map<string, { p50: number; p95: number }>();
  for (const row of results) {
    const entry = out.get(String(row.part)) ?? { p50: 0, p95: 0 };
    if (row.rn === Math.floor((row.n * 50 + 99) / 100)) entry.p50 = row.latency_ms;
    if (row.rn === Math.floor((row.n * 95 + 99) / 100)) entry.p95 = row.latency_ms;
    out.set(String(row.part), entry);
  }
  return out;
}
