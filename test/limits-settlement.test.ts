import { evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load';
import { rulesFor } from '../src/limits/rules';
import { limitedKey } from './support/test-config';
import { client, gateway, logRow, postJson, postWithEnv, testEnv } from './support/gateway';

const hello = [{ role: 'user' as const, content: 'hello there gateway' }];

async function limiterUsage(keyId: string, model: string) {
  const rules = rulesFor(loadConfig(testEnv.GATEWAY_CONFIG), keyId, model).key;
  const stub = testEnv.LIMITER.get(testEnv.LIMITER.idFromName(`key:${keyId}`));
  const usage = await stub.usage(rules);
  return Object.fromEntries(usage.map((u) => [u.name, u.used]));
}

async function loggedTotals(keyId: string) {
  const row = await testEnv.DB.prepare(
    'SELECT COALESCE(SUM(prompt_tokens), 0) + COALESCE(SUM(completion_tokens), 0) AS tokens, COALESCE(SUM(cost_usd), 0) AS cost, COUNT(*) AS calls FROM calls WHERE key_id = ?',
  )
    .bind(keyId)
    .first<{ tokens: number; cost: number; calls: number }>();
  return row!;
}

describe('settlement: the limiter counts exactly what the log says', () => {
  it('after streamed, non-streamed, failed and client-aborted calls', async () => {
    const key = limitedKey('settle');
    const ids: string[] = [];
    const plain = await postJson('/v1/chat/completions', { model: 'gpt-test', messages: hello }, key);
    ids.push(plain.headers.get('x-request-id')!);
    await plain.text();

    const streamed = await postJson('/v1/chat/completions', { model: 'gpt-test', messages: hello, stream: true }, key);
    ids.push(streamed.headers.get('x-request-id')!);
    await streamed.text();

    const failed = await postJson('/v1/chat/completions', { model: 'fixture/fault-500', messages: hello }, key);
    expect(failed.status).toBe(502);
    ids.push(failed.headers.get('x-request-id')!);

    const aborted = await postJson('/v1/chat/completions', { model: 'fixture/fault-stall-stream', messages: hello, stream: true }, key);
    ids.push(aborted.headers.get('x-request-id')!);
    const reader = aborted.body!.getReader();
    await reader.read();
    await reader.cancel();

    const embedded = await postJson('/v1/embeddings', { model: 'embed-test', input: 'a b c' }, key);
    ids.push(embedded.headers.get('x-request-id')!);
    await embedded.text();

    for (const id of ids) await logRow(id);
    const logged = await loggedTotals('settle');
    expect(logged.calls).toBe(5);
    expect(logged.tokens).toBeGreaterThan(0);
    expect(logged.cost).toBeGreaterThan(0);

    // Settlement runs in waitUntil after the row is queued: wait for it, then compare.
    await expect
      .poll(async () => (await limiterUsage('settle', 'gpt-test'))['tokens:60s'], { timeout: 3000 })
      .toBe(logged.tokens);
    const usage = await limiterUsage('settle', 'gpt-test');
    expect(usage['spend:day']).toBeCloseTo(logged.cost, 12);
    expect(usage['spend:month']).toBeCloseTo(logged.cost, 12);
  });

  it('keeps its counts when the Durable Object is evicted mid-window', async () => {
    const key = limitedKey('evict');
    for (let i = 0; i < 3; i++) await postJson('/v1/chat/completions', { model: 'demo', messages: hello }, key).then((r) => r.text());
    await expect.poll(async () => (await limiterUsage('evict', 'demo'))['requests:3600s'], { timeout: 3000 }).toBe(3);
    // Settlements arrive in batches a few ms after the calls end: wait until all three are in.
    await expect.poll(async () => (await loggedTotals('evict')).calls, { timeout: 3000 }).toBe(3);
    const logged = (await loggedTotals('evict')).tokens;
    await expect.poll(async () => (await limiterUsage('evict', 'demo'))['tokens:60s'], { timeout: 3000 }).toBe(logged);
    const before = await limiterUsage('evict', 'demo');

    await evictDurableObject(testEnv.LIMITER.get(testEnv.LIMITER.idFromName('key:evict')));
    expect(await limiterUsage('evict', 'demo')).toEqual(before);
    await postJson('/v1/chat/completions', { model: 'demo', messages: hello }, key).then((r) => r.text());
    expect((await limiterUsage('evict', 'demo'))['requests:3600s']).toBe(4);
  });
});

describe('when the limiter cannot be reached', () => {
  const down = {
    idFromName: () => ({}),
    get: () => ({
      admit: () => Promise.reject(new Error('limiter down')),
      settle: () => Promise.reject(new Error('limiter down')),
    }),
  } as unknown as DurableObjectNamespace;

  async function callWith(config: unknown, limiter: DurableObjectNamespace | undefined = down) {
    const { res, text } = await postWithEnv('/v1/chat/completions', { model: 'gpt-test', messages: hello }, { LIMITER: limiter, GATEWAY_CONFIG: config }, limitedKey('unavailable'));
    return new Response(text, { status: res.status, headers: res.headers });
  }

  it('fails closed by default: 503 with retry-after, and the row says so', async () => {
    const res = await callWith(testEnv.GATEWAY_CONFIG);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('limiter_unavailable');
    expect(await logRow(res.headers.get('x-request-id')!)).toMatchObject({ status: 503, limit_status: 'unavailable_closed' });
  });

  it('applies the same policy when the binding is missing altogether', async () => {
    const res = await callWith(testEnv.GATEWAY_CONFIG, undefined);
    expect(res.status).toBe(503);
    expect(await logRow(res.headers.get('x-request-id')!)).toMatchObject({ limit_status: 'unavailable_closed' });
  });

  it('fails open when configured, and the row says so', async () => {
    const config = structuredClone(testEnv.GATEWAY_CONFIG) as { limits: Record<string, unknown> };
    config.limits.on_unavailable = 'open';
    const res = await callWith(config);
    expect(res.status).toBe(200);
    expect(await logRow(res.headers.get('x-request-id')!)).toMatchObject({ status: 200, limit_status: 'unavailable_open' });
  });
});

describe('brute-force guard', () => {
  it('answers 429 after too many failed authentications from one IP, even to a right key then', async () => {
    const ip = '203.0.113.77';
    const attempt = (key: string) =>
      gateway('/v1/models', { headers: { authorization: `Bearer ${key}`, 'cf-connecting-ip': ip } });
    for (let i = 0; i < 5; i++) expect((await attempt(`sk-wrong-guess-${i}`)).status).toBe(401);
    const blocked = await attempt('sk-wrong-guess-6');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await blocked.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
    expect((await attempt(limitedKey('headers'))).status).toBe(429);
    // Other clients are unaffected.
    expect((await client().models.list()).data.length).toBeGreaterThan(0);
  });
});
