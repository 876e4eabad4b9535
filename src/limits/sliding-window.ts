/**
 * Time math for the Limiter: the bucketed sliding window (`requests`, `tokens`)
 * and the UTC calendar periods (`spend_day`, `spend_month`). Pure functions, no
 * storage, so the bounds below can be checked in isolation.
 *
 * Bucketed sliding window
 * -----------------------
 * A window of `window_ms` is split into buckets of width
 * `width = max(1, floor(window_ms / 60))`; time `t` falls in bucket
 * `floor(t / width)`. At time `now` the window counts every bucket with index
 * `>= floor(now / width) - span`, where `span = ceil(window_ms / width)`: the
 * partial oldest bucket is counted whole.
 *
 * Bound. An amount recorded at time `t` is counted until
 * `agesOutAt(bucket) = (floor(t / width) + span + 1) * width`, which is
 * strictly later than `t + window_ms` (because `span * width >= window_ms`)
 * and earlier than `t + window_ms + 2 * width` (because
 * `span * width < window_ms + width`; when `width` divides `window_ms` it is
 * earlier than `t + window_ms + width`). Consequences:
 *  - never too permissive: whenever an admission happens, everything admitted
 *    in the preceding `window_ms` (closed interval) is still counted, so no
 *    interval of length `window_ms` ever holds more than `limit` (no 2x burst at
 *    a window edge);
 *  - conservative by less than two bucket widths (one when `width` divides
 *    `window_ms`): an amount may keep counting up to that long after it has
 *    left the exact window.
 *
 * Calendar periods
 * ----------------
 * UTC days are keyed `floor(now / 86_400_000)`; UTC months `year * 12 + month`
 * (month 0-11). A period ends at the next UTC midnight / the first of the next
 * UTC month.
 */

export const BUCKETS_PER_WINDOW = 60;
export const DAY_MS = 86_400_000;

export interface WindowGeometry {
  window_ms: number;
  /** Bucket width in ms. */
  width: number;
  /** How many buckets back from the current one are still counted. */
  span: number;
}

export function windowGeometry(window_ms: number | undefined): WindowGeometry {
  if (window_ms === undefined || !Number.isFinite(window_ms) || window_ms <= 0) {
    throw new RangeError(`sliding window rules need a positive window_ms (got ${String(window_ms)})`);
  }
  const width = Math.max(1, Math.floor(window_ms / BUCKETS_PER_WINDOW));
  return { window_ms, width, span: Math.ceil(window_ms / width) };
}

/** The bucket index time `t` falls in. */
export function bucketAt(g: WindowGeometry, t: number): number {
  return Math.floor(t / g.width);
}

/** The oldest bucket index still counted at `now`. */
export function oldestCounted(g: WindowGeometry, now: number): number {
  return bucketAt(g, now) - g.span;
}

/** The first instant at which `bucket` is no longer counted. */
export function agesOutAt(g: WindowGeometry, bucket: number): number {
  return (bucket + g.span + 1) * g.width;
}

export type Bucket = { bucket: number; amount: number };

/**
 * Milliseconds until `amount` more would fit under `limit`, given the counted
 * buckets ordered oldest to newest (assuming nothing else is admitted
 * meanwhile): walks the buckets, dropping each as it ages out, until the rest
 * plus `amount` fits. An amount larger than the limit never fits: the answer
 * is then the whole window. At least 1 ms.
 */
export function windowRetryAfter(
  g: WindowGeometry,
  counted: readonly Bucket[],
  limit: number,
  amount: number,
  now: number,
  epsilon: number,
): number {
  if (amount > limit + epsilon) return g.window_ms;
  let used = counted.reduce((sum, b) => sum + b.amount, 0);
  if (used + amount <= limit + epsilon) return 0;
  for (const b of counted) {
    used -= b.amount;
    if (used + amount <= limit + epsilon) return Math.max(1, agesOutAt(g, b.bucket) - now);
  }
  return g.window_ms; // unreachable: with every bucket gone, amount <= limit fits
}

/** Milliseconds until every counted bucket has aged out (0 when `newest` is null). */
export function windowResetAfter(g: WindowGeometry, newest: number | null, now: number): number {
  return newest === null ? 0 : Math.max(0, agesOutAt(g, newest) - now);
}

export interface Period {
  /** Storage key of the period (UTC day index or `year * 12 + month`). */
  key: number;
  /** First instant of the next period. */
  end_ms: number;
}

export function periodAt(kind: 'spend_day' | 'spend_month', now: number): Period {
  if (kind === 'spend_day') {
    const key = Math.floor(now / DAY_MS);
    return { key, end_ms: (key + 1) * DAY_MS };
  }
  const date = new Date(now);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  return { key: year * 12 + month, end_ms: Date.UTC(year, month + 1, 1) };
}
