import { describe, expect, it } from 'vitest';
import { fullJitter } from '../../src/routing/retry';

/** Backoff between retries (the upstream's own requested wait: http-errors.test.ts). */

const settings = { retries: 5, base_ms: 100, cap_ms: 1000 };

describe('fullJitter', () => {
  it('draws uniformly in [0, min(cap, base × 2^n))', () => {
    expect(fullJitter(0, settings, () => 0)).toBe(0);
    expect(fullJitter(0, settings, () => 0.999)).toBe(99);
    expect(fullJitter(3, settings, () => 0.5)).toBe(400);
    expect(fullJitter(10, settings, () => 0.999)).toBe(999);
  });
});
