import { describe, expect, it } from 'vitest';
import { parseGoDuration, upstreamWaitMs } from '../../src/providers/http-errors';
import { fullJitter } from '../../src/routing/retry';

/** The pure parts of retrying: backoff and reading the upstream's requested wait. */

const settings = { retries: 5, base_ms: 100, cap_ms: 1000 };
const NOW = Date.UTC(2026, 10, 29, 12);

describe('fullJitter', () => {
  it('draws uniformly in [0, min(cap, base × 2^n))', () => {
    expect(fullJitter(0, settings, () => 0)).toBe(0);
    expect(fullJitter(0, settings, () => 0.999)).toBe(99);
    expect(fullJitter(3, settings, () => 0.5)).toBe(400);
    expect(fullJitter(10, settings, () => 0.999)).toBe(999);
  });
});

describe('parseGoDuration', () => {
  it.each([
    ['20ms', 20],
    ['1s', 1000],
    ['1.5s', 1500],
    ['6m0s', 360_000],
    ['1h2m3s', 3_723_000],
    ['2m', 120_000],
  ])('reads %s as %i ms', (text, ms) => expect(parseGoDuration(text)).toBe(ms));

  it.each(['', 'soon', '1x', 'ms', '-1s'])('rejects %j', (text) => expect(parseGoDuration(text)).toBeUndefined());
});

describe('upstreamWaitMs', () => {
  const wait = (headers: Record<string, string>) => upstreamWaitMs(new Headers(headers), NOW);

  it('prefers retry-after-ms, then retry-after (seconds or a date), then x-ratelimit-reset-*', () => {
    expect(wait({ 'retry-after-ms': '250', 'retry-after': '9' })).toBe(250);
    expect(wait({ 'retry-after': '2' })).toBe(2000);
    expect(wait({ 'retry-after': new Date(NOW + 1500).toUTCString() })).toBe(1000); // HTTP dates have whole seconds
    expect(wait({ 'x-ratelimit-reset-requests': '300ms', 'x-ratelimit-reset-tokens': '1s' })).toBe(1000);
  });

  it('ignores garbage, and waits over a day', () => {
    expect(wait({ 'retry-after': 'soon-ish' })).toBeUndefined();
    expect(wait({ 'retry-after-ms': '-5' })).toBeUndefined();
    expect(wait({ 'retry-after': 'Fri, 01 Jan 2100 00:00:00 GMT' })).toBeUndefined();
    expect(wait({ 'retry-after': String(2 * 86_400) })).toBeUndefined();
    expect(wait({ 'retry-after': '3600' })).toBe(3_600_000);
    expect(wait({})).toBeUndefined();
  });

  it('reads a date in the past as no wait', () => {
    expect(wait({ 'retry-after': new Date(NOW - 60_000).toUTCString() })).toBe(0);
  });
});
