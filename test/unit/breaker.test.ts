import { describe, expect, it } from 'vitest';
import { applyOutcome, claim, cooldownMs, emptyRow, healthAt, isPristine, type BreakerRow } from '../../src/routing/breaker';

/** The breaker's state machine as pure functions (the Health object stores the rows). */

const T = 1_000_000;
const SETTINGS = { failures: 2, cooldown_ms: 10_000, jitter: 0, probe_lease_ms: 5_000 };
const half = () => 0.5;
const fail = (row: BreakerRow, now = T, extra = {}) => applyOutcome(row, { ok: false, ...extra }, SETTINGS, now, half);

describe('breaker', () => {
  it('opens at the Nth consecutive failure and reads half-open once the cooldown passes', () => {
    const once = fail(emptyRow('a/b'));
    expect(healthAt(once, T)).toMatchObject({ state: 'closed', consecutiveFailures: 1, blockedUntil: 0 });
    const open = fail(once);
    expect(healthAt(open, T)).toMatchObject({ state: 'open', blockedUntil: T + 10_000 });
    expect(healthAt(open, T + 10_000)).toMatchObject({ state: 'half_open', blockedUntil: 0 });
  });

  it('grants one probe when half-open; its success closes, its failure re-opens', () => {
    const open = fail(fail(emptyRow('a/b')));
    const later = T + 10_000;
    expect(claim(open, SETTINGS, T).granted).toBe(false);
    const first = claim(open, SETTINGS, later);
    expect(first.granted).toBe(true);
    expect(claim(first.row!, SETTINGS, later).granted).toBe(false);
    expect(claim(first.row!, SETTINGS, later + 5_000).granted).toBe(true); // lease expired
    const closed = applyOutcome(first.row!, { ok: true }, SETTINGS, later, half);
    expect(isPristine(closed, later)).toBe(true);
    const reopened = fail(first.row!, later);
    expect(healthAt(reopened, later)).toMatchObject({ state: 'open', blockedUntil: later + 10_000 });
  });

  it('keeps a provider wait apart from the state, never shortened, and records only it when asked', () => {
    const waiting = fail(emptyRow('a/b'), T, { retryAfterMs: 3_000 });
    expect(healthAt(waiting, T)).toMatchObject({ state: 'closed', retryAfterUntil: T + 3_000, blockedUntil: T + 3_000 });
    expect(fail(waiting, T, { retryAfterMs: 1_000 }).retry_after_until).toBe(T + 3_000);
    const onlyWait = applyOutcome(emptyRow('a/*'), { ok: false, retryAfterMs: 2_000, backoffOnly: true }, SETTINGS, T, half);
    expect(onlyWait).toMatchObject({ failures: 0, retry_after_until: T + 2_000 });
    expect(isPristine(onlyWait, T + 2_000)).toBe(true);
  });

  it('remembers whether the last failure got an answer', () => {
    const unreachable = fail(emptyRow('a/b'), T, { unreachable: true });
    expect(healthAt(unreachable, T).unreachable).toBe(true);
    expect(healthAt(fail(unreachable), T).unreachable).toBe(false);
  });

  it('jitters the cooldown within its bounds', () => {
    const jittery = { ...SETTINGS, jitter: 0.2 };
    expect(cooldownMs(jittery, 0)).toBe(8_000);
    expect(cooldownMs(jittery, 0.5)).toBe(10_000);
    expect(cooldownMs(jittery, 1)).toBe(12_000);
  });
});
