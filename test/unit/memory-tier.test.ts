import { describe, expect, it } from 'vitest';
import type { CacheEntry } from '../../src/cache/entry';
import { recall, remember } from '../../src/cache/memory-tier';

const entry = (expiresAt: number): CacheEntry => ({ format: 1, endpoint: 'chat.completions', createdAt: 0, expiresAt, provider: 'p', upstreamModel: 'm', body: {} });

describe('the isolate memory tier of the cache', () => {
  it('keeps an entry a minute at most, and never past its own expiry', () => {
    const now = 1_000_000;
    remember('long', entry(now + 3_600_000), 100, now);
    expect(recall('long', now + 59_000)).toBeDefined();
    expect(recall('long', now + 60_001)).toBeUndefined();
    remember('short', entry(now + 5_000), 100, now);
    expect(recall('short', now + 4_999)).toBeDefined();
    expect(recall('short', now + 5_000)).toBeUndefined();
  });

  it('lets the least recently used go first when full, and never holds one huge entry', () => {
    const now = 2_000_000;
    const mib = 1024 * 1024;
    remember('huge', entry(now + 60_000), 2 * mib, now);
    expect(recall('huge', now)).toBeUndefined();
    for (let i = 0; i < 16; i++) remember(`e${i}`, entry(now + 60_000), mib, now);
    expect(recall('e0', now)).toBeDefined(); // used: now the most recent
    remember('e16', entry(now + 60_000), mib, now);
    expect(recall('e1', now)).toBeUndefined(); // the least recently used went
    expect(recall('e0', now)).toBeDefined();
    expect(recall('e16', now)).toBeDefined();
  });
});
