import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Limiter } from '../src/limits/limiter';
import { POOL_GRACE_MS, type AdmitRequest, type AdmitResult, type Rule } from '../src/limits/types';
import { testEnv } from './support/gateway';

/**
 * The Limiter Durable Object, driven through its stub (RPC, real SQLite). Time
 * is injected: `useClock` replaces the live instance's `now()` with a reader of
 * a plain object the test moves forward, so there are no sleeps. Every test
 * uses fresh object names: other test files share the namespace's storage.
 */

const namespace = testEnv.LIMITER as DurableObjectNamespace<Limiter>;
type Stub = DurableObjectStub<Limiter>;

function freshLimiter(label: string): Stub {
  return namespace.get(namespace.idFromName(`limiter-test:${label}:${crypto.randomUUID()}`));
}

interface Clock {
  t: number;
}

async function useClock(stub: Stub, start: number): Promise<Clock> {
  const clock: Clock = { t: start };
  await runInDurableObject(stub, (instance: Limiter) => {
    instance.now = () => clock.t;
  });
  return clock;
}

let sequence = 0;
function request(rules: Rule[], extra: Partial<AdmitRequest> = {}): AdmitRequest {
  return { id: `req-${++sequence}`, rules, tokens: 0, cost: 0, lease_ms: 60_000, ...extra };
}

async function used(stub: Stub, rule: Rule): Promise<number> {
  const [usage] = await stub.usage([rule]);
  return usage!.used;
}

function refused(result: AdmitResult): Extract<AdmitResult, { ok: false }> {
  if (result.ok) throw new Error('expected a refusal');
  return result;
}

// A multiple of the bucket widths used below (16 ms, 166 ms, 1000 ms), in 2024.
const T0 = 1328 * 1000 * 1_300_000;
const SECOND = 1000;
const HOUR = 3_600_000;

describe('Limiter: exactness under concurrency', () => {
  it('admits exactly 37 of 250 concurrent calls on a requests rule, 20 times over', async () => {
    const rule: Rule = { name: 'requests:60s', kind: 'requests', limit: 37, window_ms: 60_000 };
    for (let round = 0; round < 20; round++) {
      const stub = freshLimiter('exact-requests');
      await useClock(stub, T0);
      const results = await Promise.all(Array.from({ length: 250 }, () => stub.admit(request([rule]))));
      expect(results.filter((r) => r.ok)).toHaveLength(37);
      for (const r of results.filter((r) => !r.ok)) expect(r).toMatchObject({ ok: false, rule: rule.name, kind: 'requests' });
      expect(await used(stub, rule)).toBe(37);
    }
  }, 120_000);

  it('admits exactly 5 of 250 concurrent calls on a concurrency rule, and exactly one more after a settle', async () => {
    const rule: Rule = { name: 'concurrency', kind: 'concurrency', limit: 5 };
    for (let round = 0; round < 20; round++) {
      const stub = freshLimiter('exact-concurrency');
      const requests = Array.from({ length: 250 }, () => request([rule]));
      const results = await Promise.all(requests.map((r) => stub.admit(r)));
      const admitted = requests.filter((_, i) => results[i]!.ok);
      expect(admitted).toHaveLength(5);
      await stub.settle(admitted[0]!.id, { tokens: 0, cost: 0 });
      expect(await used(stub, rule)).toBe(4);
      const again = await Promise.all(Array.from({ length: 250 }, () => stub.admit(request([rule]))));
      expect(again.filter((r) => r.ok)).toHaveLength(1);
      expect(await used(stub, rule)).toBe(5);
    }
  }, 120_000);
});

describe('Limiter: tokens', () => {
  const rule: Rule = { name: 'tokens:60s', kind: 'tokens', limit: 1000, window_ms: 60_000 };

  it('admits exactly 10 concurrent 100-token calls per 1,000 tokens, and settles to actual tokens', async () => {
    const stub = freshLimiter('tokens');
    await useClock(stub, T0);
    const requests = Array.from({ length: 40 }, () => request([rule], { tokens: 100 }));
    const results = await Promise.all(requests.map((r) => stub.admit(r)));
    const admitted = requests.filter((_, i) => results[i]!.ok);
    expect(admitted).toHaveLength(10);
    expect(await used(stub, rule)).toBe(1000);

    for (const [n, r] of admitted.entries()) {
      await stub.settle(r.id, { tokens: 40, cost: 0 });
      expect(await used(stub, rule)).toBe(1000 - 60 * (n + 1));
    }
    expect(await used(stub, rule)).toBe(400);

    // More than the limit can never fit: refused, retry after the whole window.
    expect(refused(await stub.admit(request([rule], { tokens: 1001 })))).toMatchObject({ kind: 'tokens', retry_after_ms: 60_000 });
    expect(await used(stub, rule)).toBe(400);

    // A call that used more than reserved is counted at its real size; remaining never goes negative.
    const big = request([rule], { tokens: 600 });
    expect((await stub.admit(big)).ok).toBe(true);
    await stub.settle(big.id, { tokens: 900, cost: 0 });
    expect(await used(stub, rule)).toBe(1300);
    const over = refused(await stub.admit(request([rule], { tokens: 1 })));
    expect(over.states[0]).toMatchObject({ name: rule.name, remaining: 0 });
  });
});

describe('Limiter: spend budgets', () => {
  const day: Rule = { name: 'spend:day', kind: 'spend_day', limit: 1 };
  const month: Rule = { name: 'spend:month', kind: 'spend_month', limit: 1 };

  it('enforces a daily budget, renews at UTC midnight, and never blocks zero-cost calls', async () => {
    const stub = freshLimiter('spend-day');
    const now = Date.UTC(2026, 2, 14, 15, 30, 0);
    const clock = await useClock(stub, now);
    const requests = Array.from({ length: 4 }, () => request([day], { cost: 0.3 }));
    const results: AdmitResult[] = [];
    for (const r of requests) results.push(await stub.admit(r));
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false]);
    expect(refused(results[3]!)).toMatchObject({ rule: 'spend:day', kind: 'spend_day', retry_after_ms: Date.UTC(2026, 2, 15) - now });
    expect(await used(stub, day)).toBeCloseTo(0.9, 9);

    // Zero-priced calls skip spend rules entirely, even with the budget spent.
    expect((await stub.admit(request([day], { cost: 0 }))).ok).toBe(true);
    expect(await used(stub, day)).toBeCloseTo(0.9, 9);

    for (const r of requests.slice(0, 3)) await stub.settle(r.id, { tokens: 0, cost: 0.1 });
    expect(await used(stub, day)).toBeCloseTo(0.3, 9);
    expect((await stub.admit(request([day], { cost: 0.3 }))).ok).toBe(true);
    expect((await stub.admit(request([day], { cost: 0.3 }))).ok).toBe(true);
    expect((await stub.admit(request([day], { cost: 0.3 }))).ok).toBe(false);
    expect((await stub.admit(request([day], { cost: 0 }))).ok).toBe(true);

    // Next UTC day: a fresh budget.
    clock.t = Date.UTC(2026, 2, 15);
    expect(await used(stub, day)).toBe(0);
    expect((await stub.admit(request([day], { cost: 1 }))).ok).toBe(true);
  });

  it('compares USD with a 1e-9 tolerance: 0.1 + 0.2 + 0.7 fills a 1.00 budget exactly', async () => {
    const stub = freshLimiter('spend-epsilon');
    await useClock(stub, Date.UTC(2026, 2, 14, 15, 30));
    for (const cost of [0.1, 0.2, 0.7]) expect((await stub.admit(request([day], { cost }))).ok).toBe(true);
    expect((await stub.admit(request([day], { cost: 0.000001 }))).ok).toBe(false);
  });

  it('enforces a monthly budget that renews on the first of the next UTC month (also across a year end)', async () => {
    const stub = freshLimiter('spend-month');
    const now = Date.UTC(2026, 11, 31, 23, 0, 0);
    const clock = await useClock(stub, now);
    for (let i = 0; i < 3; i++) expect((await stub.admit(request([month], { cost: 0.3 }))).ok).toBe(true);
    expect(refused(await stub.admit(request([month], { cost: 0.3 })))).toMatchObject({
      rule: 'spend:month',
      kind: 'spend_month',
      retry_after_ms: HOUR,
    });
    expect((await stub.admit(request([month], { cost: 0 }))).ok).toBe(true);
    clock.t = Date.UTC(2027, 0, 1);
    expect(await used(stub, month)).toBe(0);
    expect((await stub.admit(request([month], { cost: 0.3 }))).ok).toBe(true);
    clock.t = Date.UTC(2027, 0, 20);
    expect(refused(await stub.admit(request([month], { cost: 0.71 }))).retry_after_ms).toBe(Date.UTC(2027, 1, 1) - clock.t);
  });
});

describe('Limiter: sliding windows (injected clock)', () => {
  // 10 s window: bucket width 166 ms, span ceil(10000 / 166) = 61 buckets. A
  // bucket starting at T0 stops counting at T0 + (61 + 1) * 166 = T0 + 10,292 ms.
  const rule: Rule = { name: 'requests:10s', kind: 'requests', limit: 10, window_ms: 10_000 };
  const agedOut = T0 + 62 * 166;

  it('never bursts at the window edge, and admits again once the first bucket has aged out', async () => {
    const stub = freshLimiter('window-edge');
    const clock = await useClock(stub, T0);
    const first = await Promise.all(Array.from({ length: 12 }, () => stub.admit(request([rule]))));
    expect(first.filter((r) => r.ok)).toHaveLength(10);

    clock.t = T0 + 5 * SECOND;
    const retry = refused(await stub.admit(request([rule]))).retry_after_ms;
    expect(retry).toBe(agedOut - clock.t);
    for (const t of [T0 + 9_900, T0 + 10_000, agedOut - 166, agedOut - 1]) {
      clock.t = t;
      expect(refused(await stub.admit(request([rule]))).retry_after_ms).toBe(agedOut - t);
    }
    clock.t = agedOut;
    expect(await used(stub, rule)).toBe(0);
    const again = await Promise.all(Array.from({ length: 12 }, () => stub.admit(request([rule]))));
    expect(again.filter((r) => r.ok)).toHaveLength(10);
  });

  it('gives a retry_after_ms at which the same request really fits, and not earlier', async () => {
    const tokens: Rule = { name: 'tokens:10s', kind: 'tokens', limit: 1000, window_ms: 10_000 };
    const stub = freshLimiter('window-retry');
    const clock = await useClock(stub, T0);
    for (const [at, amount] of [[0, 400], [3000, 300], [6000, 300]] as const) {
      clock.t = T0 + at;
      expect((await stub.admit(request([tokens], { tokens: amount }))).ok).toBe(true);
    }
    clock.t = T0 + 7000;
    // 500 tokens need 700 to age out: the 400 of T0 and the 300 of T0 + 3 s,
    // whose bucket (index +18) stops counting at T0 + (18 + 62) * 166 ms.
    const retry = refused(await stub.admit(request([tokens], { tokens: 500 }))).retry_after_ms;
    expect(retry).toBe(T0 + 80 * 166 - clock.t);
    const at = clock.t;
    clock.t = at + retry - 1;
    expect((await stub.admit(request([tokens], { tokens: 500 }))).ok).toBe(false);
    clock.t = at + retry;
    expect((await stub.admit(request([tokens], { tokens: 500 }))).ok).toBe(true);
  });

  it('never holds more than the limit in any 10 s interval over a long run of attempts', async () => {
    const stub = freshLimiter('window-property');
    const clock = await useClock(stub, T0);
    const admittedAt: number[] = [];
    for (let i = 0; i < 800; i++) {
      clock.t = T0 + i * 53;
      if ((await stub.admit(request([rule]))).ok) admittedAt.push(clock.t);
    }
    for (const [i, start] of admittedAt.entries()) {
      const inWindow = admittedAt.slice(i).filter((t) => t <= start + rule.window_ms!).length;
      expect(inWindow).toBeLessThanOrEqual(rule.limit);
    }
    // Conservative by under two bucket widths, so about 10 per 10.3 s over 42.4 s.
    expect(admittedAt.length).toBeGreaterThanOrEqual(40);
  }, 60_000);

  it('enforces two windows at once, and a refusal by one reserves nothing on the other', async () => {
    const burst: Rule = { name: 'requests:1s', kind: 'requests', limit: 3, window_ms: 1000 };
    const sustained: Rule = { name: 'requests:10s', kind: 'requests', limit: 5, window_ms: 10_000 };
    const stub = freshLimiter('window-two-rules');
    const clock = await useClock(stub, T0);
    const first: AdmitResult[] = [];
    for (let i = 0; i < 4; i++) first.push(await stub.admit(request([burst, sustained])));
    expect(first.map((r) => r.ok)).toEqual([true, true, true, false]);
    expect(refused(first[3]!)).toMatchObject({ rule: 'requests:1s', kind: 'requests' });
    expect(await stub.usage([burst, sustained])).toEqual([
      { name: 'requests:1s', used: 3 },
      { name: 'requests:10s', used: 3 },
    ]);

    // 1 s window: width 16 ms, span 63, so T0's bucket stops counting at T0 + 64 * 16.
    clock.t = T0 + 64 * 16;
    const second: AdmitResult[] = [];
    for (let i = 0; i < 3; i++) second.push(await stub.admit(request([burst, sustained])));
    expect(second.map((r) => r.ok)).toEqual([true, true, false]);
    expect(refused(second[2]!)).toMatchObject({ rule: 'requests:10s', kind: 'requests', retry_after_ms: agedOut - clock.t });
    expect(await stub.usage([burst, sustained])).toEqual([
      { name: 'requests:1s', used: 2 },
      { name: 'requests:10s', used: 5 },
    ]);
  });
});

describe('Limiter: leases and settlement', () => {
  const concurrency: Rule = { name: 'concurrency', kind: 'concurrency', limit: 2 };

  it('stops counting a lease that is never settled after lease_ms', async () => {
    const stub = freshLimiter('lease-expiry');
    const clock = await useClock(stub, T0);
    expect((await stub.admit(request([concurrency], { lease_ms: 30_000 }))).ok).toBe(true);
    clock.t = T0 + 10_000;
    expect((await stub.admit(request([concurrency], { lease_ms: 30_000 }))).ok).toBe(true);
    // The earliest lease ends in 20 s, but a settle may free a slot any time: advise at most 1 s.
    expect(refused(await stub.admit(request([concurrency])))).toMatchObject({ kind: 'concurrency', retry_after_ms: 1000 });
    clock.t = T0 + 29_500;
    expect(refused(await stub.admit(request([concurrency]))).retry_after_ms).toBe(500);
    clock.t = T0 + 30_000;
    expect(await used(stub, concurrency)).toBe(1);
    expect((await stub.admit(request([concurrency], { lease_ms: 30_000 }))).ok).toBe(true);
    clock.t = T0 + 40_000;
    expect(await used(stub, concurrency)).toBe(1);
  });

  it('settles idempotently; an unknown id is a no-op; a reused id is refused loudly', async () => {
    const requests: Rule = { name: 'requests:60s', kind: 'requests', limit: 100, window_ms: 60_000 };
    const tokens: Rule = { name: 'tokens:60s', kind: 'tokens', limit: 10_000, window_ms: 60_000 };
    const day: Rule = { name: 'spend:day', kind: 'spend_day', limit: 10 };
    const rules = [requests, tokens, concurrency, day];
    const stub = freshLimiter('settle');
    await useClock(stub, T0);
    const a = request(rules, { tokens: 100, cost: 0.5 });
    const b = request(rules, { tokens: 200, cost: 0.25 });
    expect((await stub.admit(a)).ok).toBe(true);
    expect((await stub.admit(b)).ok).toBe(true);
    await stub.settle(a.id, { tokens: 40, cost: 0.2 });
    const after = await stub.usage(rules);
    expect(after.map((u) => u.used)).toEqual([2, 240, 1, expect.closeTo(0.45, 9)]);
    await stub.settle(a.id, { tokens: 0, cost: 0 });
    await stub.settle(a.id, { tokens: 5000, cost: 9 });
    await stub.settle('no-such-reservation', { tokens: 0, cost: 0 });
    expect(await stub.usage(rules)).toEqual(after);
    // Checked inside the object: a rejecting RPC leaks an unhandled rejection under
    // vitest-pool-workers (cloudflare/workers-sdk#14736) even when the test handles it.
    const reused = await runInDurableObject(stub, (instance: Limiter) => {
      try {
        instance.admit({ ...a });
        return 'admitted';
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    });
    expect(reused).toMatch(/already admitted/);

    // A failed upstream call settles to zero: everything but its request count is released.
    await stub.settle(b.id, { tokens: 0, cost: 0 });
    expect((await stub.usage(rules)).map((u) => u.used)).toEqual([2, 40, 0, expect.closeTo(0.2, 9)]);
  });
});

describe('Limiter: eviction', () => {
  it('keeps its counts when the object is evicted (real clock, day-long windows)', async () => {
    const requests: Rule = { name: 'requests:1d', kind: 'requests', limit: 5, window_ms: 86_400_000 };
    const tokens: Rule = { name: 'tokens:1d', kind: 'tokens', limit: 10_000, window_ms: 86_400_000 };
    const concurrency: Rule = { name: 'concurrency', kind: 'concurrency', limit: 3 };
    const rules = [requests, tokens, concurrency];
    const stub = freshLimiter('eviction');
    const admitted = Array.from({ length: 3 }, () => request(rules, { tokens: 100, lease_ms: HOUR }));
    for (const r of admitted) expect((await stub.admit(r)).ok).toBe(true);
    await runInDurableObject(stub, (instance: Limiter) => {
      (instance as unknown as { marker: boolean }).marker = true;
    });

    await evictDurableObject(stub);
    expect(await runInDurableObject(stub, (instance: Limiter) => 'marker' in instance)).toBe(false);
    expect((await stub.usage(rules)).map((u) => u.used)).toEqual([3, 300, 3]);
    expect(refused(await stub.admit(request(rules, { tokens: 100 })))).toMatchObject({ kind: 'concurrency' });
    // settle() finds what the reservation counted, after eviction too.
    await stub.settle(admitted[0]!.id, { tokens: 50, cost: 0 });
    expect((await stub.usage(rules)).map((u) => u.used)).toEqual([3, 250, 2]);
    const next = await stub.admit(request(rules, { tokens: 100 }));
    expect(next.ok && next.states.map((s) => s.remaining)).toEqual([1, 9650, 0]);
  });

  it('keeps spend when evicted (clock injected again on the new instance)', async () => {
    const day: Rule = { name: 'spend:day', kind: 'spend_day', limit: 1 };
    const stub = freshLimiter('eviction-spend');
    const now = Date.UTC(2026, 5, 1, 8);
    await useClock(stub, now);
    const r = request([day], { cost: 0.6 });
    expect((await stub.admit(r)).ok).toBe(true);
    await evictDurableObject(stub);
    await useClock(stub, now + HOUR);
    expect(await used(stub, day)).toBeCloseTo(0.6, 9);
    expect(refused(await stub.admit(request([day], { cost: 0.6 }))).retry_after_ms).toBe(Date.UTC(2026, 5, 2) - now - HOUR);
    await stub.settle(r.id, { tokens: 0, cost: 0.3 });
    expect((await stub.admit(request([day], { cost: 0.6 }))).ok).toBe(true);
  });
});

describe('Limiter: rule states', () => {
  const rules: Rule[] = [
    { name: 'requests:60s', kind: 'requests', limit: 10, window_ms: 60_000 },
    { name: 'tokens:60s', kind: 'tokens', limit: 1000, window_ms: 60_000 },
    { name: 'concurrency', kind: 'concurrency', limit: 3 },
    { name: 'spend:day', kind: 'spend_day', limit: 1 },
    { name: 'spend:month', kind: 'spend_month', limit: 10 },
  ];
  const now = Date.UTC(2026, 4, 20, 12, 0, 0);
  const toMidnight = Date.UTC(2026, 4, 21) - now;
  const toJune = Date.UTC(2026, 5, 1) - now;

  it('reports remaining and reset_ms per kind, in rule order, after admissions and refusals', async () => {
    const stub = freshLimiter('states');
    const clock = await useClock(stub, now);
    // 60 s windows: width 1 s, span 60, so a bucket counts for 61 s from its start.
    const first = await stub.admit(request(rules, { tokens: 100, cost: 0.25 }));
    expect(first).toEqual({
      ok: true,
      states: [
        { name: 'requests:60s', kind: 'requests', limit: 10, remaining: 9, reset_ms: 61_000 },
        { name: 'tokens:60s', kind: 'tokens', limit: 1000, remaining: 900, reset_ms: 61_000 },
        { name: 'concurrency', kind: 'concurrency', limit: 3, remaining: 2, reset_ms: 60_000 },
        { name: 'spend:day', kind: 'spend_day', limit: 1, remaining: 0.75, reset_ms: toMidnight },
        { name: 'spend:month', kind: 'spend_month', limit: 10, remaining: 9.75, reset_ms: toJune },
      ],
    });

    clock.t = now + 30_000;
    const second = await stub.admit(request(rules, { tokens: 100, cost: 0.25, lease_ms: 10_000 }));
    expect(second.states.map((s) => [s.remaining, s.reset_ms])).toEqual([
      [8, 61_000],
      [800, 61_000],
      [1, 30_000], // the latest lease is still the first one
      [0.5, toMidnight - 30_000],
      [9.5, toJune - 30_000],
    ]);

    // Refused by the daily budget: states show what is left now, nothing reserved.
    const third = refused(await stub.admit(request(rules, { tokens: 100, cost: 0.6 })));
    expect(third).toMatchObject({ rule: 'spend:day', kind: 'spend_day', retry_after_ms: toMidnight - 30_000 });
    expect(third.states.map((s) => [s.remaining, s.reset_ms])).toEqual([
      [8, 61_000],
      [800, 61_000],
      [1, 30_000],
      [0.5, toMidnight - 30_000],
      [9.5, toJune - 30_000],
    ]);

    // Zero cost: spend rules are skipped and keep their remaining.
    const free = await stub.admit(request(rules, { tokens: 0, cost: 0 }));
    expect(free.ok && free.states.map((s) => s.remaining)).toEqual([7, 800, 0, 0.5, 9.5]);
  });

  it('reports an empty window with its full limit and reset_ms 0', async () => {
    const stub = freshLimiter('states-empty');
    await useClock(stub, now);
    const closed: Rule = { name: 'closed', kind: 'concurrency', limit: 0 };
    const result = refused(await stub.admit(request([closed, rules[0]!, rules[1]!])));
    expect(result).toMatchObject({ rule: 'closed', kind: 'concurrency', retry_after_ms: 1000 });
    expect(result.states.map((s) => [s.name, s.remaining, s.reset_ms])).toEqual([
      ['closed', 0, 0],
      ['requests:60s', 10, 0],
      ['tokens:60s', 1000, 0],
    ]);
  });
});

describe('Limiter: batched and piggybacked settlements', () => {
  const concurrency: Rule = { name: 'concurrency', kind: 'concurrency', limit: 2 };
  const tokens: Rule = { name: 'tokens:60s', kind: 'tokens', limit: 10_000, window_ms: 60_000 };

  it('frees a slot with the settlement an admission carries, in the same transaction', async () => {
    const stub = freshLimiter('piggyback');
    await useClock(stub, T0);
    const [a, b] = [request([concurrency, tokens], { tokens: 100 }), request([concurrency, tokens], { tokens: 100 })];
    expect((await stub.admit(a)).ok).toBe(true);
    expect((await stub.admit(b)).ok).toBe(true);
    expect((await stub.admit(request([concurrency, tokens]))).ok).toBe(false);
    const next = await stub.admit(request([concurrency, tokens], { tokens: 100, settle: [{ id: a.id, tokens: 30, cost: 0 }] }));
    expect(next.ok).toBe(true);
    expect((await stub.usage([concurrency, tokens])).map((u) => u.used)).toEqual([2, 230]);
  });

  it('settles a batch in one call, idempotently, and applies deltas even after a final settle', async () => {
    const stub = freshLimiter('batch');
    await useClock(stub, T0);
    const calls = Array.from({ length: 50 }, () => request([concurrency, tokens], { tokens: 10 }));
    const admitted = [];
    for (const c of calls) if ((await stub.admit(c)).ok) admitted.push(c);
    expect(admitted).toHaveLength(2);
    const batch = admitted.map((c) => ({ id: c.id, tokens: 4, cost: 0 }));
    await stub.settleMany([...batch, ...batch]);
    expect((await stub.usage([concurrency, tokens])).map((u) => u.used)).toEqual([0, 8]);
    await stub.settleMany([{ id: admitted[0]!.id, tokens: 5, cost: 0, delta: true }]);
    expect((await stub.usage([concurrency, tokens])).map((u) => u.used)).toEqual([0, 13]);
  });
});

describe('Limiter: quota leases', () => {
  const requests: Rule = { name: 'requests:60s', kind: 'requests', limit: 100, window_ms: 60_000 };
  const tokens: Rule = { name: 'tokens:60s', kind: 'tokens', limit: 10_000, window_ms: 60_000 };
  const day: Rule = { name: 'spend:day', kind: 'spend_day', limit: 1 };
  const ask = (n: number, extra: Partial<NonNullable<AdmitRequest['lease']>> = {}) => ({
    id: `lease-${++sequence}`, requests: n, tokens: n * 10, cost: n * 0.01, lease_ms: 1000, ...extra,
  });

  it('grants a slice of every rule, counted in the bucket of its end, and takes back what was not used', async () => {
    const stub = freshLimiter('lease-grant');
    const clock = await useClock(stub, T0);
    const lease = ask(20);
    const granted = await stub.admit(request([requests, tokens, day], { tokens: 10, cost: 0.01, lease }));
    expect(granted).toMatchObject({ ok: true, lease: { id: lease.id, requests: 20, tokens: 200, lease_ms: 1000 } });
    expect(granted.states.map((s) => s.remaining)).toEqual([80, 9800, expect.closeTo(0.8, 9)]);
    expect((await stub.usage([requests, tokens, day])).map((u) => u.used)).toEqual([20, 200, expect.closeTo(0.2, 9)]);
    // Counted at T0 + 1 s (bucket width 1 s): it ages out 1 s after a call admitted at T0 would.
    clock.t = T0 + 61_000;
    expect(await used(stub, requests)).toBe(20);
    clock.t = T0 + 62_000;
    expect(await used(stub, requests)).toBe(0);
    clock.t = T0 + 1000;
    // 7 calls used 50 tokens and $0.03: the rest comes back.
    await stub.settleMany([{ id: lease.id, requests: 7, tokens: 50, cost: 0.03 }]);
    expect((await stub.usage([requests, tokens, day])).map((u) => u.used)).toEqual([7, 50, expect.closeTo(0.03, 9)]);
    // A call that settles after its lease was returned corrects it by a delta.
    await stub.settleMany([{ id: lease.id, tokens: 25, cost: 0.01, delta: true }]);
    expect((await stub.usage([requests, tokens, day])).map((u) => u.used)).toEqual([7, 75, expect.closeTo(0.04, 9)]);
  });

  it('never grants more than remains: the call is then admitted alone, exactly', async () => {
    const stub = freshLimiter('lease-remains');
    await useClock(stub, T0);
    for (let i = 0; i < 95; i++) await stub.admit(request([requests]));
    const near = await stub.admit(request([requests], { lease: ask(10) }));
    expect(near.ok && near.lease).toBeUndefined();
    expect(await used(stub, requests)).toBe(96);
    const results = await Promise.all(Array.from({ length: 50 }, () => stub.admit(request([requests], { lease: ask(2) }))));
    const leased = results.filter((r) => r.ok && r.lease).length;
    const alone = results.filter((r) => r.ok && !r.lease).length;
    expect(2 * leased + alone).toBe(4);
    expect(await used(stub, requests)).toBe(100);
  });

  it('grants no lease to rules with a concurrency limit without a slot pool, and none past the end of a spend period or a bucket', async () => {
    const stub = freshLimiter('lease-bounds');
    const now = Date.UTC(2026, 2, 14, 23, 59, 59, 500);
    const clock = await useClock(stub, now);
    const concurrency: Rule = { name: 'concurrency', kind: 'concurrency', limit: 100 };
    const withSlots = await stub.admit(request([requests, concurrency], { lease: ask(4) }));
    expect(withSlots.ok && withSlots.lease).toBeUndefined();
    const beforeMidnight = await stub.admit(request([day], { cost: 0.01, lease: ask(4) }));
    expect(beforeMidnight.ok && beforeMidnight.lease).toMatchObject({ lease_ms: 500 });
    clock.t = Date.UTC(2026, 2, 14, 23, 59, 59, 995);
    const tooLate = await stub.admit(request([day], { cost: 0.01, lease: ask(4) }));
    expect(tooLate.ok && tooLate.lease).toBeUndefined();
    const short: Rule = { name: 'requests:6s', kind: 'requests', limit: 1000, window_ms: 6000 };
    const narrow = await stub.admit(request([short], { lease: ask(4) }));
    expect(narrow.ok && narrow.lease).toMatchObject({ lease_ms: 100 });
  });
});

describe('Limiter: concurrency slot pools', () => {
  const concurrency: Rule = { name: 'concurrency', kind: 'concurrency', limit: 10 };
  const pooled = (pool: { id: string; slots: number; seq: number }) => ({ id: `lease-${++sequence}`, requests: 4, tokens: 0, cost: 0, lease_ms: 1000, pool });
  const shrink = (id: string, slots: number, seq: number) => ({ id, tokens: 0, cost: 0, pool: { slots, seq, hold_ms: 60_000 } });

  it('counts a pool at its full size beside running calls and other pools, and grants one only if it fits', async () => {
    const stub = freshLimiter('pool-fit');
    await useClock(stub, T0);
    for (let i = 0; i < 3; i++) expect((await stub.admit(request([concurrency]))).ok).toBe(true);
    const a = await stub.admit(request([concurrency], { lease: pooled({ id: 'pool-a', slots: 5, seq: 1 }) }));
    expect(a.ok && a.lease?.pool).toEqual({ id: 'pool-a', slots: 5, seq: 1 });
    expect(a.states[0]).toMatchObject({ remaining: 2 });
    expect(await used(stub, concurrency)).toBe(8);
    // 8 + 3 > 10: no pool; the call is admitted alone, exactly.
    const b = await stub.admit(request([concurrency], { lease: pooled({ id: 'pool-b', slots: 3, seq: 1 }) }));
    expect(b.ok && !b.lease).toBe(true);
    expect(await used(stub, concurrency)).toBe(9);
    expect((await stub.admit(request([concurrency]))).ok).toBe(true);
    expect(refused(await stub.admit(request([concurrency])))).toMatchObject({ kind: 'concurrency' });
    // The isolate gives back slots it no longer uses: calls fit again.
    await stub.settleMany([shrink('pool-a', 2, 2)]);
    expect(await used(stub, concurrency)).toBe(7);
    expect((await stub.admit(request([concurrency]))).ok).toBe(true);
  });

  it('ignores a pool update older than the newest applied, and frees a pool at zero or when it lapses', async () => {
    const stub = freshLimiter('pool-order');
    const clock = await useClock(stub, T0);
    const grown = await stub.admit(request([concurrency], { lease: pooled({ id: 'pool-c', slots: 6, seq: 2 }) }));
    expect(grown.ok && grown.lease?.pool?.slots).toBe(6);
    // A shrink sent before that grant arrives after it: ignored.
    await stub.settleMany([shrink('pool-c', 1, 1)]);
    expect(await used(stub, concurrency)).toBe(6);
    await stub.settleMany([shrink('pool-c', 4, 3)]);
    expect(await used(stub, concurrency)).toBe(4);
    // A grant overtaken by that shrink is refused: the call is admitted alone.
    const stale = await stub.admit(request([concurrency], { lease: pooled({ id: 'pool-c', slots: 6, seq: 3 }) }));
    expect(stale.ok && !stale.lease).toBe(true);
    expect(await used(stub, concurrency)).toBe(5);
    await stub.settleMany([shrink('pool-c', 0, 4)]);
    expect(await used(stub, concurrency)).toBe(1);
    // A pool nobody shrinks (its isolate died) stops counting when its lease ends plus the grace.
    await stub.admit(request([concurrency], { lease: pooled({ id: 'pool-d', slots: 6, seq: 1 }) }));
    expect(await used(stub, concurrency)).toBe(7);
    clock.t = T0 + 1000 + POOL_GRACE_MS + 1;
    expect(await used(stub, concurrency)).toBe(1);
  });
});
