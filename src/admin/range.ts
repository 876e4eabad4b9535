import { z } from 'zod';
import { GatewayError } from '../errors';

/**
 * A query's time range: `?range=1h|6h|24h|7d|30d` back from now, or `?from&to` (ISO
 * 8601). Time series are cut into buckets of a fixed size (at most 120 points: 10 s
 * for up to 20 minutes, 1 minute for an hour, 15 minutes for a day, hours beyond);
 * the range is widened to whole buckets so every point covers a full bucket.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const RANGES = { '1h': HOUR, '6h': 6 * HOUR, '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY } as const;
const BUCKETS = [10_000, MINUTE, 5 * MINUTE, 15 * MINUTE, HOUR, 2 * HOUR, 6 * HOUR, DAY];
const MAX_SPAN = 400 * DAY;

/** Ranges longer than this read the hourly rollups (call_hours) where they exist. */
export const RAW_SPAN_MAX = DAY;

const isoTime = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));

export const RangeQuery = z.object({
  range: z.enum(Object.keys(RANGES) as [keyof typeof RANGES, ...(keyof typeof RANGES)[]]).optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
});

export interface Range {
  /** Epoch ms, inclusive; a multiple of `bucketMs`. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  bucketMs: number;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function parseQuery<T extends z.ZodType>(schema: T, query: Record<string, string>): z.infer<T> {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new GatewayError('invalid_request', `Invalid query parameter ${issue.path.join('.') || ''}: ${issue.message}`, {
    param: issue.path.join('.') || null,
  });
}

/** The range a query asks for (default: the last 24 hours), widened to whole buckets. */
export function rangeOf(query: z.infer<typeof RangeQuery>, now: number, defaultRange: keyof typeof RANGES = '24h'): Range {
  let to = query.to ?? now;
  let from = query.from ?? to - RANGES[query.range ?? defaultRange];
  if (query.range && (query.from !== undefined || query.to !== undefined)) {
    throw new GatewayError('invalid_request', 'Send either range or from/to, not both', { param: 'range' });
  }
  if (!(from < to)) throw new GatewayError('invalid_request', '`from` must be before `to`', { param: 'from' });
  if (to - from > MAX_SPAN) throw new GatewayError('invalid_request', 'The range may span 400 days at most', { param: 'from' });
  const span = to - from;
  const minimum = span > RAW_SPAN_MAX ? HOUR : 0;
  const bucketMs = BUCKETS.find((b) => b >= minimum && span / b <= 120) ?? DAY;
  from = Math.floor(from / bucketMs) * bucketMs;
  to = Math.ceil(to / bucketMs) * bucketMs;
  return { from, to, bucketMs };
}

/** Start of the UTC day and month of `now`: the periods daily and monthly budgets count. */
export function budgetPeriods(now: number): { day: number; month: number } {
  const date = new Date(now);
  return {
    day: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()),
    month: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1),
  };
}

export { HOUR };
