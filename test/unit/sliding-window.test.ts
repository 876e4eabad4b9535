import { describe, expect, it } from 'vitest';
import { agesOutAt, bucketAt, periodAt, windowGeometry, windowResetAfter, windowRetryAfter } from '../../src/limits/sliding-window';

/** The limiter's time math: bucket geometry, the no-burst bound, retry-after, calendar periods. */

describe('sliding window', () => {
  it('counts an amount for longer than the window but less than two buckets more', () => {
    for (const window of [1_000, 10_000, 60_000, 61_000, 3_600_000]) {
      const g = windowGeometry(window);
      for (const t of [0, 1, g.width - 1, 12_345, 987_654_321]) {
        const out = agesOutAt(g, bucketAt(g, t));
        expect(out).toBeGreaterThan(t + window);
        expect(out).toBeLessThan(t + window + 2 * g.width);
      }
    }
  });

  it('says how long until an amount fits, walking buckets oldest first', () => {
    const g = windowGeometry(60_000); // 1 s buckets
    const now = 100_500;
    const counted = [{ bucket: 50, amount: 3 }, { bucket: 90, amount: 2 }];
    expect(windowRetryAfter(g, counted, 10, 5, now, 1e-9)).toBe(0);
    expect(windowRetryAfter(g, counted, 5, 1, now, 1e-9)).toBe(agesOutAt(g, 50) - now);
    expect(windowRetryAfter(g, counted, 5, 4, now, 1e-9)).toBe(agesOutAt(g, 90) - now);
    expect(windowRetryAfter(g, counted, 5, 6, now, 1e-9)).toBe(60_000);
    expect(windowResetAfter(g, 90, now)).toBe(agesOutAt(g, 90) - now);
    expect(windowResetAfter(g, null, now)).toBe(0);
  });

  it('refuses a window that is not positive', () => {
    expect(() => windowGeometry(0)).toThrow(RangeError);
  });

  it('keys UTC days and months and knows when they end', () => {
    const t = Date.UTC(2026, 1, 28, 23, 59);
    expect(periodAt('spend_day', t).end_ms).toBe(Date.UTC(2026, 2, 1));
    expect(periodAt('spend_month', t)).toEqual({ key: 2026 * 12 + 1, end_ms: Date.UTC(2026, 2, 1) });
    expect(periodAt('spend_month', Date.UTC(2026, 11, 31)).end_ms).toBe(Date.UTC(2027, 0, 1));
  });
});
