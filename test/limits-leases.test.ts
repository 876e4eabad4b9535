import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load';
import { leaseClock } from '../src/limits/lease-book';
import type { Limiter } from '../src/limits/limiter';
import { rulesFor } from '../src/limits/rules';
import type { AdmitRequest, SettleItem } from '../src/limits/types';
import { limitedKey } from './support/test-config';
import { BASE, inWorker, testEnv } from './support/gateway';

/**
 * Quota leases through HTTP (issue 11, item 2): a key whose rules are large enough is
 * admitted from this isolate's lease, with no round trip for most calls, and still
 * never past its limits; once the leases are back, the limiter counts exactly what
 * was admitted. The limiter binding is wrapped to count the RPCs the calls make.
 */

const hello = [{ role: 'user' as const, content: 'hello there gateway' }];

function countingLimiter() {
  const calls = { admit: 0, settleMany: 0 };
  const real = testEnv.LIMITER;
  const ns = {
    idFromName: (name: string) => real.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = real.get(id);
      return {
        admit: (r: AdmitRequest) => (calls.admit++, stub.admit(r)),
        settleMany: (items: SettleItem[]) => (calls.settleMany++, stub.settleMany(items)),
      };
    },
  } as unknown as DurableObjectNamespace<Limiter>;
  return { ns, calls };
}

type Fetch = (request: Request) => Promise<Response>;

function post(fetch: Fetch, body: unknown, key: string): Promise<number> {
  const request = new Request(`${BASE}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'cf-connecting-ip': '198.18.0.1' },
    body: JSON.stringify(body),
  });
  return fetch(request).then(async (r) => (await r.text(), r.status));
}

/**
 * `clients` callers at once, straight into the Worker (one isolate), each sending its
 * next call when the previous one is answered; resolves once their background work is done.
 */
function closedLoop(clients: number, each: number, body: unknown, key: string, limiter: DurableObjectNamespace<Limiter>): Promise<number[]> {
  return inWorker({ LIMITER: limiter }, async (fetch) => {
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let i = 0; i < each; i++) statuses.push(await post(fetch, body, key));
      }),
    );
    return statuses;
  });
}

async function limiterUsed(keyId: string, model: string): Promise<Record<string, number>> {
  const rules = rulesFor(loadConfig(testEnv.GATEWAY_CONFIG), keyId, model).key;
  const stub = testEnv.LIMITER.get(testEnv.LIMITER.idFromName(`key:${keyId}`));
  return Object.fromEntries((await stub.usage(rules)).map((u) => [u.name, u.used]));
}

async function logged(keyId: string) {
  return (await testEnv.DB.prepare(
    "SELECT COUNT(*) AS admitted, COALESCE(SUM(prompt_tokens), 0) + COALESCE(SUM(completion_tokens), 0) AS tokens, COALESCE(SUM(cost_usd), 0) AS cost FROM calls WHERE key_id = ? AND limit_status = 'admitted'",
  )
    .bind(keyId)
    .first<{ admitted: number; tokens: number; cost: number }>())!;
}

afterEach(() => {
  leaseClock.now = () => Date.now();
});

describe('quota leases', () => {
  it('never over-admits a leased requests rule under 200x concurrency, makes few round trips, and counts exactly after', async () => {
    const { ns, calls } = countingLimiter();
    const key = limitedKey('leased');
    const statuses = await closedLoop(200, 7, { model: 'demo', messages: hello }, key, ns);
    const sent = statuses.length;
    const admitted = statuses.filter((s) => s === 200).length;
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(admitted).toBeLessThanOrEqual(1000);
    // Under-admission bound: one isolate holds at most 2/64 of the limit unused (30 here).
    expect(admitted).toBeGreaterThanOrEqual(1000 - 30);
    // A slice of a 1,000 limit is at most 15 calls, so at 200 callers most calls still go to the object.
    expect(calls.admit).toBeLessThan(sent);
    await expect.poll(async () => (await logged('leased')).admitted, { timeout: 5000 }).toBe(admitted);
    // Unused slices come back when their lease ends: the object then counts exactly the admissions.
    await expect.poll(async () => (await limiterUsed('leased', 'demo'))['requests:3600s'], { timeout: 5000 }).toBe(admitted);
  }, 60_000);

  it('never lets logged tokens or spend pass leased token and budget rules when callers set max_tokens', async () => {
    const { ns } = countingLimiter();
    const key = limitedKey('leased-tpm');
    const statuses = await closedLoop(200, 6, { model: 'gpt-test', messages: hello, max_tokens: 20 }, key, ns);
    const refused = statuses.filter((s) => s === 429).length;
    expect(refused).toBeGreaterThan(0);
    await expect.poll(async () => (await logged('leased-tpm')).admitted, { timeout: 5000 }).toBe(1200 - refused);
    const log = await logged('leased-tpm');
    expect(log.tokens).toBeLessThanOrEqual(16_000);
    expect(log.cost).toBeLessThanOrEqual(0.5);
    await expect.poll(async () => (await limiterUsed('leased-tpm', 'gpt-test'))['tokens:60s'], { timeout: 5000 }).toBe(log.tokens);
    expect((await limiterUsed('leased-tpm', 'gpt-test'))['spend:day']).toBeCloseTo(log.cost, 12);
  }, 60_000);

  it('admits most calls of a hot key with no round trip', async () => {
    // Leases are time-bounded: on a loaded machine 1,000 calls may outlast a few of
    // them. The isolate's clock stands still here, so what is counted is the sizing.
    const now = Date.now();
    leaseClock.now = () => now;
    const { ns, calls } = countingLimiter();
    const statuses = await closedLoop(50, 20, { model: 'demo', messages: hello }, limitedKey('leased-hot'), ns);
    expect(statuses.every((s) => s === 200)).toBe(true);
    // Calls that find no room wait for the lease being asked for instead of each making a round trip.
    expect(calls.admit).toBeLessThan(statuses.length / 8);
    await expect.poll(async () => (await limiterUsed('leased-hot', 'demo'))['requests:3600s'], { timeout: 5000 }).toBe(1000);
  }, 60_000);

  it('returns an expired lease with the next admission, and an idle one on its own when it ends', async () => {
    const key = limitedKey('leased-expiry');
    const used = async () => (await limiterUsed('leased-expiry', 'demo'))['requests:3600s'];
    const body = { model: 'demo', messages: hello };
    await inWorker({}, async (fetch) => {
      expect(await post(fetch, body, key)).toBe(200);
      // The first lease is 8 calls: one used, seven held.
      expect(await used()).toBe(8);
      // Past its end (the isolate's clock, injected): the next call returns the 7 unused
      // in its admission RPC and takes a new lease of 8.
      const later = Date.now() + 5000;
      leaseClock.now = () => later;
      expect(await post(fetch, body, key)).toBe(200);
      expect(await used()).toBe(1 + 8);
      // Nobody calls again: the lease's own timer returns what it did not use.
      leaseClock.now = () => Date.now();
      await expect.poll(used, { timeout: 3000 }).toBe(2);
    });
  });
});

describe('concurrency slot pools', () => {
  it('never runs more calls at once than a pooled concurrency limit, from two isolates at once, and frees every slot after', async () => {
    const key = limitedKey('pooled');
    // quick/fault-hang holds each admitted call for the 400 ms first-byte timeout (then 504).
    const body = { model: 'quick/fault-hang', messages: hello };
    // Two limiter bindings hold apart leases and pools: two isolates, one object.
    const isolate = () => inWorker({ LIMITER: countingLimiter().ns }, (fetch) => Promise.all(Array.from({ length: 100 }, () => post(fetch, body, key))));
    const statuses = (await Promise.all([isolate(), isolate()])).flat();
    const ran = statuses.filter((s) => s === 504).length;
    expect(statuses.filter((s) => s !== 504 && s !== 429)).toEqual([]);
    expect(ran).toBeLessThanOrEqual(64);
    // Under-admission bound: each isolate's pool holds at most 64/16 = 4 slots it does not use.
    expect(ran).toBeGreaterThanOrEqual(64 - 8);
    await expect.poll(async () => (await limiterUsed('pooled', 'quick/fault-hang'))['concurrency'], { timeout: 5000 }).toBe(0);
  }, 30_000);

  it('admits most calls of a hot key with a concurrency rule with no round trip, and counts exactly after', async () => {
    const now = Date.now();
    leaseClock.now = () => now;
    const { ns, calls } = countingLimiter();
    const statuses = await closedLoop(50, 20, { model: 'demo', messages: hello }, limitedKey('pooled-hot'), ns);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(calls.admit).toBeLessThan(statuses.length / 8);
    await expect.poll(() => limiterUsed('pooled-hot', 'demo'), { timeout: 5000 }).toEqual({ 'requests:3600s': 1000, concurrency: 0 });
  }, 60_000);
});
