import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Health } from '../src/routing/health-object';
import type { BreakerSettings, TargetHealth } from '../src/routing/health-types';
import { testEnv } from './support/gateway';

/**
 * The Health Durable Object, driven through its stub (RPC, real SQLite). Time
 * and the jitter's randomness are injected: `useSeams` replaces the live
 * instance's `now()` with a reader of a plain object the test moves forward
 * (and optionally pins `random()`), so there are no sleeps. Every test uses a
 * fresh object name: other test files share the namespace's storage, and the
 * gateway itself uses "fleet".
 */

const namespace = testEnv.HEALTH;
type Stub = DurableObjectStub<Health>;

function freshHealth(label: string): Stub {
  return namespace.get(namespace.idFromName(`health-test-${label}-${crypto.randomUUID()}`));
}

interface Seams {
  t: number;
  /** null: the real Math.random. */
  random: number | null;
}

async function useSeams(stub: Stub, start: number, random: number | null = null): Promise<Seams> {
  const seams: Seams = { t: start, random };
  await runInDurableObject(stub, (instance: Health) => {
    instance.now = () => seams.t;
    instance.random = () => seams.random ?? Math.random();
  });
  return seams;
}

const T0 = Date.UTC(2026, 2, 14, 12);
const TARGET = 'openai/gpt-4o-mini';
const OTHER = 'anthropic/claude-haiku';
/** Cooldown 10 s ± 20 %: opens for 8 to 12 s. */
const SETTINGS: BreakerSettings = { failures: 3, cooldown_ms: 10_000, jitter: 0.2, probe_lease_ms: 5_000 };
const FAIL = { ok: false } as const;
const OK = { ok: true } as const;

async function fail(stub: Stub, times: number, target = TARGET, settings = SETTINGS): Promise<TargetHealth> {
  let last: TargetHealth | undefined;
  for (let i = 0; i < times; i++) last = await stub.report(target, FAIL, settings);
  return last!;
}

async function healthOf(stub: Stub, target = TARGET): Promise<TargetHealth | undefined> {
  return (await stub.snapshot()).find((h) => h.target === target);
}

/** A breaker opened at T0 with the jitter pinned to the middle: cooldown exactly 10 s. */
async function openedAtT0(label: string): Promise<{ stub: Stub; seams: Seams; until: number }> {
  const stub = freshHealth(label);
  const seams = await useSeams(stub, T0, 0.5);
  expect(await fail(stub, 3)).toMatchObject({ state: 'open', blockedUntil: T0 + 10_000 });
  return { stub, seams, until: T0 + 10_000 };
}

describe('Health: closed breaker', () => {
  it('stays closed for N−1 failures, opens on the Nth within the jitter bounds, and a success resets the count', async () => {
    for (let round = 0; round < 5; round++) {
      const stub = freshHealth('closed');
      const seams = await useSeams(stub, T0);
      expect(await stub.snapshot()).toEqual([]);
      expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(true);

      expect(await fail(stub, 2)).toEqual({ target: TARGET, state: 'closed', consecutiveFailures: 2, blockedUntil: 0, retryAfterUntil: 0, unreachable: false });
      expect(await healthOf(stub)).toMatchObject({ state: 'closed', consecutiveFailures: 2 });
      expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(true);

      // A success in between: the count starts over, and the healthy target leaves the snapshot.
      expect(await stub.report(TARGET, OK, SETTINGS)).toMatchObject({ state: 'closed', consecutiveFailures: 0, blockedUntil: 0 });
      expect(await stub.snapshot()).toEqual([]);
      expect(await fail(stub, 2)).toMatchObject({ state: 'closed', consecutiveFailures: 2 });

      seams.t = T0 + 1_000;
      const opened = await stub.report(TARGET, FAIL, SETTINGS);
      expect(opened).toMatchObject({ state: 'open', consecutiveFailures: 3, retryAfterUntil: 0 });
      expect(opened.blockedUntil).toBeGreaterThanOrEqual(seams.t + 8_000);
      expect(opened.blockedUntil).toBeLessThanOrEqual(seams.t + 12_000);
      expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(false);
      // Other targets are unaffected.
      expect(await stub.claimProbe(OTHER, SETTINGS)).toBe(true);
      expect((await stub.snapshot()).map((h) => h.target)).toEqual([TARGET]);
    }
  });
});

describe('Health: open breaker', () => {
  it('refuses probes, counts late failures without extending the cooldown, and ignores late successes', async () => {
    const { stub, seams, until } = await openedAtT0('open');
    expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(false);

    seams.t = T0 + 4_000;
    expect(await fail(stub, 2)).toMatchObject({ state: 'open', consecutiveFailures: 5, blockedUntil: until });
    // A success while open came from a call started before it opened: the breaker stays open.
    expect(await stub.report(TARGET, OK, SETTINGS)).toMatchObject({ state: 'open', consecutiveFailures: 5, blockedUntil: until });
    expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(false);

    seams.t = until - 1;
    expect(await stub.snapshot()).toEqual([
      { target: TARGET, state: 'open', consecutiveFailures: 5, blockedUntil: until, retryAfterUntil: 0, unreachable: false },
    ]);
    expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(false);
  });
});

describe('Health: half-open breaker', () => {
  it('lets exactly one of 50 concurrent callers probe, and closes on its success', async () => {
    for (let round = 0; round < 5; round++) {
      const { stub, seams, until } = await openedAtT0('half-open-success');
      seams.t = until;
      const halfOpen = { target: TARGET, state: 'half_open', consecutiveFailures: 3, blockedUntil: 0, retryAfterUntil: 0, unreachable: false };
      expect(await healthOf(stub)).toEqual(halfOpen);
      const claims = await Promise.all(Array.from({ length: 50 }, () => stub.claimProbe(TARGET, SETTINGS)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(false);

      seams.t = until + 300;
      const closed = { target: TARGET, state: 'closed', consecutiveFailures: 0, blockedUntil: 0, retryAfterUntil: 0, unreachable: false };
      expect(await stub.report(TARGET, OK, SETTINGS)).toEqual(closed);
      expect(await stub.snapshot()).toEqual([]);
      expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(true);
      // Closed again for real: it takes N fresh failures to reopen.
      expect(await fail(stub, 2)).toMatchObject({ state: 'closed', consecutiveFailures: 2 });
    }
  });

  it('reopens with a fresh jittered cooldown when the probe fails', async () => {
    const { stub, seams, until } = await openedAtT0('half-open-failure');
    seams.t = until + 500;
    expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(true);
    seams.t = until + 2_000;
    seams.random = 0.75; // factor 1.1: 11 s
    const reopened = await stub.report(TARGET, FAIL, SETTINGS);
    expect(reopened).toEqual({
      target: TARGET,
      state: 'open',
      consecutiveFailures: 4,
      blockedUntil: until + 2_000 + 11_000,
      retryAfterUntil: 0,
      unreachable: false,
    });
    expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(false);
    expect(await healthOf(stub)).toMatchObject({ state: 'open', blockedUntil: reopened.blockedUntil });

    // The probe slot was freed: after the new cooldown, one new probe may go.
    seams.t = reopened.blockedUntil;
    expect(await healthOf(stub)).toMatchObject({ state: 'half_open', blockedUntil: 0 });
    const claims = await Promise.all(Array.from({ length: 50 }, () => stub.claimProbe(TARGET, SETTINGS)));
    expect(claims.filter(Boolean)).toHaveLength(1);
  });

  it('frees the slot of a probe that never reports once its lease expires', async () => {
    const { stub, seams, until } = await openedAtT0('half-open-lease');
    seams.t = until + 1_000;
    expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(true);
    seams.t = until + 1_000 + SETTINGS.probe_lease_ms - 1;
    expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(false);
    seams.t = until + 1_000 + SETTINGS.probe_lease_ms;
    const claims = await Promise.all(Array.from({ length: 50 }, () => stub.claimProbe(TARGET, SETTINGS)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await healthOf(stub)).toMatchObject({ state: 'half_open', consecutiveFailures: 3 });
  });
});

describe("Health: a provider's retry-after", () => {
  it('blocks a closed target for the whole fleet, is never shortened, and expires by time', async () => {
    const stub = freshHealth('retry-after');
    const seams = await useSeams(stub, T0);
    const blocked = await stub.report(TARGET, { ok: false, retryAfterMs: 5_000 }, SETTINGS);
    expect(blocked).toEqual({
      target: TARGET,
      state: 'closed',
      consecutiveFailures: 1,
      blockedUntil: T0 + 5_000,
      retryAfterUntil: T0 + 5_000,
      unreachable: false,
    });
    expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(false);

    // A later, shorter wait does not shorten it; a success does not clear it.
    seams.t = T0 + 1_000;
    expect(await stub.report(TARGET, { ok: false, retryAfterMs: 1_000 }, SETTINGS)).toMatchObject({
      state: 'closed',
      consecutiveFailures: 2,
      blockedUntil: T0 + 5_000,
    });
    expect(await stub.report(TARGET, OK, SETTINGS)).toMatchObject({ consecutiveFailures: 0, blockedUntil: T0 + 5_000 });
    seams.t = T0 + 4_999;
    expect(await healthOf(stub)).toMatchObject({ state: 'closed', blockedUntil: T0 + 5_000, retryAfterUntil: T0 + 5_000 });
    expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(false);

    // Expired: unblocked, and the now healthy row is pruned.
    seams.t = T0 + 5_000;
    expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(true);
    expect(await stub.snapshot()).toEqual([]);
  });

  it('outlasts a shorter breaker cooldown and keeps the half-open target from probing', async () => {
    const stub = freshHealth('retry-after-open');
    const seams = await useSeams(stub, T0, 0.5);
    await fail(stub, 2);
    const opened = await stub.report(TARGET, { ok: false, retryAfterMs: 30_000 }, SETTINGS);
    expect(opened).toMatchObject({ state: 'open', blockedUntil: T0 + 30_000, retryAfterUntil: T0 + 30_000 });
    seams.t = T0 + 10_000;
    expect(await healthOf(stub)).toMatchObject({ state: 'half_open', blockedUntil: T0 + 30_000 });
    expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(false);
    seams.t = T0 + 30_000;
    expect(await healthOf(stub)).toMatchObject({ state: 'half_open', blockedUntil: 0, retryAfterUntil: 0, unreachable: false });
    expect(await stub.claimProbe(TARGET, SETTINGS)).toBe(true);
  });
});

describe('Health: eviction', () => {
  it('keeps breakers and retry-after waits when the object is evicted (real clock, hour-long waits)', async () => {
    const hour = 3_600_000;
    const long: BreakerSettings = { failures: 2, cooldown_ms: hour, jitter: 0.1, probe_lease_ms: 60_000 };
    const stub = freshHealth('eviction');
    const before = Date.now();
    const opened = await fail(stub, 2, TARGET, long);
    expect(opened.state).toBe('open');
    expect(opened.blockedUntil).toBeGreaterThanOrEqual(before + 0.9 * hour);
    const waiting = await stub.report(OTHER, { ok: false, retryAfterMs: hour }, long);
    await runInDurableObject(stub, (instance: Health) => {
      (instance as unknown as { marker: boolean }).marker = true;
    });

    await evictDurableObject(stub);
    expect(await runInDurableObject(stub, (instance: Health) => 'marker' in instance)).toBe(false);
    expect(await stub.snapshot()).toEqual([waiting, opened].sort((a, b) => a.target.localeCompare(b.target)));
    expect(await stub.claimProbe(TARGET, long)).toBe(false);
    expect(await stub.claimProbe(OTHER, long)).toBe(false);
    expect(await stub.report(TARGET, FAIL, long)).toMatchObject({ state: 'open', consecutiveFailures: 3, blockedUntil: opened.blockedUntil });
  });
});

describe('Health: jitter', () => {
  it('puts the cooldown exactly at the bounds for random() = 0 and 1, and at the middle for 0.5', async () => {
    for (const [random, cooldown] of [[0, 8_000], [1, 12_000], [0.5, 10_000], [0.9999999999, 12_000]] as const) {
      const stub = freshHealth(`jitter-${random}`);
      await useSeams(stub, T0, random);
      expect(await fail(stub, 3)).toMatchObject({ state: 'open', blockedUntil: T0 + cooldown });
    }
    // No jitter: exactly the cooldown, whatever random() says.
    const stub = freshHealth('jitter-none');
    await useSeams(stub, T0, 0.9);
    expect(await fail(stub, 1, TARGET, { ...SETTINGS, failures: 1, jitter: 0 })).toMatchObject({ blockedUntil: T0 + 10_000 });
  });
});

describe('Health: why a target failed', () => {
  it('remembers whether the last failure got no answer at all, and forgets it on recovery', async () => {
    const stub = freshHealth('unreachable');
    await useSeams(stub, T0, 0.5);
    expect(await stub.report(TARGET, { ok: false, unreachable: true }, SETTINGS)).toMatchObject({ state: 'closed', unreachable: true });
    // An answer, even a bad one, says the target is reachable again.
    expect(await stub.report(TARGET, FAIL, SETTINGS)).toMatchObject({ consecutiveFailures: 2, unreachable: false });
    expect(await stub.report(TARGET, { ok: false, unreachable: true }, SETTINGS)).toMatchObject({ state: 'open', unreachable: true });
    expect(await healthOf(stub)).toMatchObject({ state: 'open', unreachable: true });
    expect(await healthOf(stub, OTHER)).toBeUndefined();
  });
});
