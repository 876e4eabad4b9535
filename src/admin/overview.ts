import { addInto, byBucket, emptySums, histogramQuantile, rawPercentiles, sums, type Sums } from './aggregate';
import { iso, RAW_SPAN_MAX, type Range } from './range';

/**
 * The overview: totals and a time series per metric over a range. Ranges up to a day
 * read raw rows (exact percentiles); longer ones read the hourly rollups where they
 * exist (percentiles from their histogram) and raw rows after them.
 */

/** Statuses >= 400 (499 included) and their codes, over raw rows (the errors-only index calls_errors_by_ts). */
export const ERROR_CODES_SQL = `SELECT status, error_code AS code, COUNT(*) AS count FROM calls
  WHERE ts >= ?1 AND ts < ?2 AND status >= 400 GROUP BY status, error_code ORDER BY count DESC LIMIT 20`;

/**
 * Guardrails that fired, by name, stage and action, over raw rows (the rollups do not
 * keep them): the partial index calls_guarded_by_ts reads only calls on which one fired.
 */
export const GUARDRAILS_SQL = `SELECT json_extract(g.value, '$.name') AS name, json_extract(g.value, '$.stage') AS stage,
  json_extract(g.value, '$.action') AS action, COUNT(*) AS count
  FROM calls, json_each(calls.guardrails) AS g
  WHERE calls.ts >= ?1 AND calls.ts < ?2 AND calls.guardrails IS NOT NULL
  GROUP BY name, stage, action ORDER BY count DESC, name LIMIT 50`;

const round = (n: number, digits = 10) => Number(n.toFixed(digits));
const ratio = (part: number, whole: number) => (whole > 0 ? round(part / whole, 6) : null);
const mean = (sum: number, count: number) => (count > 0 ? Math.round(sum / count) : null);

/** The figures shown for one set of sums (a bucket, or the whole range). */
export function figures(s: Sums, percentiles: { p50: number | null; p95: number | null }) {
  const errors = s.errors_4xx + s.errors_5xx;
  return {
    requests: s.calls,
    errors,
    errors_4xx: s.errors_4xx,
    errors_5xx: s.errors_5xx,
    client_closed: s.client_closed,
    error_rate: ratio(errors, s.calls),
    stream_cuts: s.stream_cuts,
    prompt_tokens: s.prompt_tokens,
    completion_tokens: s.completion_tokens,
    total_tokens: s.prompt_tokens + s.completion_tokens,
    cost_usd: round(s.cost_usd),
    saved_usd: round(s.saved_usd),
    cache_hits: s.cache_hits,
    cache_lookups: s.cache_lookups,
    cache_hit_ratio: ratio(s.cache_hits, s.cache_lookups),
    latency_avg_ms: mean(s.latency_ms_sum, s.calls),
    latency_p50_ms: percentiles.p50,
    latency_p95_ms: percentiles.p95,
    ttfb_avg_ms: mean(s.ttfb_ms_sum, s.ttfb_count),
  };
}

export type Figures = ReturnType<typeof figures>;

const SERIES = [
  'requests', 'errors_4xx', 'errors_5xx', 'client_closed', 'latency_p50_ms', 'latency_p95_ms', 'ttfb_avg_ms',
  'prompt_tokens', 'completion_tokens', 'cost_usd', 'saved_usd', 'cache_hit_ratio',
] as const;

export async function overview(db: D1Database, range: Range) {
  const { from, to, bucketMs } = range;
  const bucket = byBucket(from, bucketMs);
  const long = to - from > RAW_SPAN_MAX;
  const [series, errorCodes, guardrails] = await Promise.all([
    sums(db, { from, to, groups: [bucket], rollups: long }),
    db.prepare(ERROR_CODES_SQL).bind(iso(from), iso(to)).all<{ status: number; code: string | null; count: number }>(),
    db.prepare(GUARDRAILS_SQL).bind(iso(from), iso(to)).all<{ name: string; stage: string; action: string; count: number }>(),
  ]);
  // Exact percentiles need every raw row sorted: only for ranges read from raw rows alone.
  const exact = !long;
  const [perBucket, whole] = exact
    ? await Promise.all([
        rawPercentiles(db, { table: 'calls', partition: bucket.raw, from, to }),
        rawPercentiles(db, { table: 'calls', partition: "'all'", from, to }),
      ])
    : [null, null];

  const count = Math.round((to - from) / bucketMs);
  const byIndex = new Map(series.rows.map((row) => [Number(row.group.bucket), row]));
  const points = Array.from({ length: count }, (_, i) => {
    const s = byIndex.get(i);
    if (!s) return null;
    const p = exact ? perBucket!.get(String(i)) : undefined;
    return figures(s, exact ? { p50: p?.p50 ?? null, p95: p?.p95 ?? null } : { p50: histogramQuantile(s.hist, 0.5), p95: histogramQuantile(s.hist, 0.95) });
  });

  const total = series.rows.reduce((acc, row) => addInto(acc, row), emptySums());
  const wholeP = whole?.get('all');
  const totals = figures(
    total,
    exact ? { p50: wholeP?.p50 ?? null, p95: wholeP?.p95 ?? null } : { p50: histogramQuantile(total.hist, 0.5), p95: histogramQuantile(total.hist, 0.95) },
  );

  return {
    range: { from: iso(from), to: iso(to), bucket_ms: bucketMs },
    rollups_until: series.rolledUpTo === null ? null : iso(series.rolledUpTo),
    percentiles: exact ? 'exact' : 'histogram',
    totals,
    series: {
      t: Array.from({ length: count }, (_, i) => from + i * bucketMs),
      ...Object.fromEntries(
        SERIES.map((name) => [name, points.map((p) => (p ? p[name] : name.startsWith('latency') || name.endsWith('ratio') || name.startsWith('ttfb') ? null : 0))]),
      ),
    } as { t: number[] } & Record<(typeof SERIES)[number], (number | null)[]>,
    error_codes: errorCodes.results,
    guardrails: guardrails.results,
  };
}
