/**
 * The shape of the hourly rollups (`call_hours`, migrations/0008): status classes,
 * latency histogram buckets and hour keys. The rollup writer (rollup.ts) and
 * whatever reads rollups or raw calls side by side (the dashboard) take them from
 * here, so a range that spans both adds up.
 */

export const HOUR_MS = 3_600_000;

/**
 * Upper bounds (inclusive, ms) of the latency histogram's buckets; one more bucket,
 * the last, holds everything above the largest. `latency_hist[i]` counts calls with
 * LATENCY_BUCKETS_MS[i-1] < latency_ms <= LATENCY_BUCKETS_MS[i].
 */
export const LATENCY_BUCKETS_MS = [50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000] as const;
export const HISTOGRAM_SIZE = LATENCY_BUCKETS_MS.length + 1;

export type StatusClass = '2xx' | '4xx' | '5xx' | '499' | 'other';

/** 499 (the client went away first) is its own class: not the gateway's error, nor a success. */
export function statusClass(status: number): StatusClass {
  if (status === 499) return '499';
  if (status >= 200 && status <= 299) return '2xx';
  if (status >= 400 && status <= 499) return '4xx';
  if (status >= 500 && status <= 599) return '5xx';
  return 'other';
}

/** statusClass() as an SQL expression over a status column. */
export function statusClassSql(column = 'status'): string {
  return `CASE WHEN ${column} = 499 THEN '499' WHEN ${column} BETWEEN 200 AND 299 THEN '2xx' WHEN ${column} BETWEEN 400 AND 499 THEN '4xx' WHEN ${column} BETWEEN 500 AND 599 THEN '5xx' ELSE 'other' END`;
}

/** The histogram bucket a latency falls in. */
export function latencyBucket(ms: number): number {
  const i = LATENCY_BUCKETS_MS.findIndex((bound) => ms <= bound);
  return i === -1 ? LATENCY_BUCKETS_MS.length : i;
}

/** An aggregate SQL expression: the JSON histogram of a latency column over the group. */
export function latencyHistogramSql(column = 'latency_ms'): string {
  const counts = [...LATENCY_BUCKETS_MS, Infinity].map((bound, i) => {
    const low = i === 0 ? '' : `${column} > ${LATENCY_BUCKETS_MS[i - 1]}`;
    const high = bound === Infinity ? '' : `${column} <= ${bound}`;
    return `COALESCE(SUM(${[low, high].filter(Boolean).join(' AND ')}), 0)`;
  });
  return `json_array(${counts.join(', ')})`;
}

/** Bucket-wise sum of histograms (e.g. several rollup rows, or rollups and raw calls). */
export function addHistograms(histograms: Iterable<readonly number[]>): number[] {
  const sum = new Array<number>(HISTOGRAM_SIZE).fill(0);
  for (const histogram of histograms) for (let i = 0; i < HISTOGRAM_SIZE; i++) sum[i]! += histogram[i] ?? 0;
  return sum;
}

/**
 * The p-th percentile (0 < p <= 1) a histogram can tell: the upper bound of the
 * bucket it falls in (for the open last bucket, its lower bound). Null when empty.
 */
export function histogramPercentile(histogram: readonly number[], p: number): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.ceil(p * total);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= rank) return LATENCY_BUCKETS_MS[Math.min(i, LATENCY_BUCKETS_MS.length - 1)]!;
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
}

/** The UTC hour an instant falls in, as `call_hours.hour` spells it ('YYYY-MM-DDTHH:00:00.000Z'). */
export function hourStart(ms: number): string {
  return new Date(Math.floor(ms / HOUR_MS) * HOUR_MS).toISOString();
}

/** One `call_hours` row as D1 returns it. */
export interface CallHourRow {
  hour: string;
  key_id: string;
  model: string;
  provider: string;
  status_class: StatusClass;
  cache_status: string;
  calls: number;
  /** Calls with an error_code: error answers, and streams that failed or were abandoned after they started. */
  errors: number;
  /** Calls with stream_cut = 1. */
  stream_cuts: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  saved_usd: number;
  latency_ms_sum: number;
  ttfb_ms_sum: number;
  /** Calls with a ttfb_ms (the divisor of the average time to first byte). */
  ttfb_count: number;
  /** JSON array of HISTOGRAM_SIZE counts (LATENCY_BUCKETS_MS). */
  latency_hist: string;
}
