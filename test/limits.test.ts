import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { limitedKey } from './support/test-config';
import { BASE, client, concurrentPosts, gateway, logRow, postJson, testEnv } from './support/gateway';

const hello = [{ role: 'user' as const, content: 'hello there gateway' }];
const chat = (model = 'gpt-test', extra: Record<string, unknown> = {}) => ({ model, messages: hello, ...extra });

type ErrorBody = { error: { message: string; type: string; param: null; code: string } };

describe('request limits over HTTP', () => {
  it('admits exactly the limit out of 200 concurrent calls, every time', async () => {
    for (const run of [0, 1, 2, 3] as const) {
      const key = limitedKey(`exact-${run}`);
      const statuses = (await concurrentPosts(200, '/v1/chat/completions', chat('demo'), key)).map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(37);
      expect(statuses.filter((s) => s === 429)).toHaveLength(163);
    }
  });

  it("answers 429 rate_limit_exceeded with OpenAI's headers, and the client raises RateLimitError", async () => {
    const key = limitedKey('requests');
    for (let i = 0; i < 5; i++) expect((await postJson('/v1/chat/completions', chat(), key)).status).toBe(200);
    const res = await postJson('/v1/chat/completions', chat(), key);
    expect(res.status).toBe(429);
    const body = (await res.json()) as ErrorBody;
    expect(body.error).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests', param: null });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(3000);
    expect(Number(res.headers.get('retry-after-ms'))).toBeGreaterThan(3_000_000);
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    const row = await logRow(res.headers.get('x-request-id')!);
    expect(row).toMatchObject({ status: 429, error_code: 'rate_limit_exceeded', limit_status: 'rejected', limited_by: 'requests:3600s', attempts: 0 });

    await expect(client(key).chat.completions.create(chat())).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('puts the x-ratelimit headers on every response of a limited key, resets in Go duration format', async () => {
    const key = limitedKey('headers');
    const res = await postJson('/v1/chat/completions', chat(), key);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit-requests')).toBe('100');
    expect(Number(res.headers.get('x-ratelimit-remaining-requests'))).toBeLessThanOrEqual(99);
    const goDuration = /^(\d+ms|(\d+h)?(\d+m)?\d+(\.\d+)?s)$/;
    expect(res.headers.get('x-ratelimit-reset-requests')).toMatch(goDuration);
    expect(res.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
    expect(Number(res.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(100000);
    expect(res.headers.get('x-ratelimit-reset-tokens')).toMatch(goDuration);

    const failed = await postJson('/v1/chat/completions', chat('fixture/fault-500'), key);
    expect(failed.status).toBe(502);
    expect(failed.headers.get('x-ratelimit-limit-requests')).toBe('100');

    const unlimited = await postJson('/v1/chat/completions', chat());
    expect(unlimited.headers.get('x-ratelimit-limit-requests')).toBeNull();
  });

  it('applies a per-model rule of a key on top of its own rules', async () => {
    const key = limitedKey('per-model');
    expect((await postJson('/v1/chat/completions', chat(), key)).status).toBe(200);
    expect((await postJson('/v1/chat/completions', chat(), key)).status).toBe(200);
    const third = await postJson('/v1/chat/completions', chat(), key);
    expect(third.status).toBe(429);
    expect(await logRow(third.headers.get('x-request-id')!)).toMatchObject({ limited_by: 'model:gpt-test:requests:3600s' });
    expect((await postJson('/v1/chat/completions', chat('demo'), key)).status).toBe(200);
  });

  it('shares a fleet-wide model rule across keys', async () => {
    const statuses: number[] = [];
    for (const key of ['fleet-a', 'fleet-b', 'fleet-a', 'fleet-b'] as const) {
      statuses.push((await postJson('/v1/chat/completions', chat('fleet-model'), limitedKey(key))).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe('tokens, concurrency and budgets', () => {
  it('refuses when the token reservation would pass tokens per minute, with type tokens', async () => {
    const key = limitedKey('tokens');
    // A call reserves its prompt bytes + chat framing (68, estimate.ts) and max_tokens, then
    // settles to what it used (8): two small calls fit, one reserving 68 + 280 cannot.
    const first = await postJson('/v1/chat/completions', chat('gpt-test', { max_tokens: 100 }), key);
    const second = await postJson('/v1/chat/completions', chat('gpt-test', { max_tokens: 100 }), key);
    const third = await postJson('/v1/chat/completions', chat('gpt-test', { max_tokens: 280 }), key);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(third.status).toBe(429);
    expect(((await third.json()) as ErrorBody).error).toMatchObject({ code: 'rate_limit_exceeded', type: 'tokens' });
  });

  it('admits exactly the concurrency limit out of 200 calls in flight', async () => {
    const key = limitedKey('concurrency');
    // quick/fault-hang holds each admitted call for the 400 ms first-byte timeout.
    const responses = await concurrentPosts(200, '/v1/chat/completions', chat('quick/fault-hang'), key);
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 504)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(195);
    const refused = responses.find((r) => r.status === 429)!;
    expect((JSON.parse(refused.body) as ErrorBody).error.type).toBe('concurrency');
    // Leases are released when calls end: the next call is admitted.
    await expect.poll(async () => (await postJson('/v1/chat/completions', chat(), key)).status, { timeout: 3000 }).toBe(200);
  });

  it('stops a spent budget with insufficient_quota and x-should-retry: false, which the client obeys', async () => {
    const key = limitedKey('budget');
    let refused: Response | undefined;
    const ids: string[] = [];
    // Each call reserves about $0.00083 (68 prompt tokens at $10/M, 5 completion tokens at
    // $30/M) and settles to the $0.00016 it cost: about seven fit in $0.002.
    for (let i = 0; i < 30 && !refused; i++) {
      const res = await postJson('/v1/chat/completions', chat('gpt-test', { max_tokens: 5 }), key);
      ids.push(res.headers.get('x-request-id')!);
      if (res.status === 429) refused = res;
      else await res.text();
    }
    for (const id of ids) await logRow(id);
    expect(refused).toBeDefined();
    expect(refused!.headers.get('x-should-retry')).toBe('false');
    expect(((await refused!.json()) as ErrorBody).error).toMatchObject({ code: 'insufficient_quota', type: 'insufficient_quota' });

    const { results } = await testEnv.DB.prepare("SELECT SUM(cost_usd) AS spent, COUNT(cost_usd) AS paid FROM calls WHERE key_id = 'budget'").all<{ spent: number; paid: number }>();
    expect(results[0]!.paid).toBeGreaterThanOrEqual(3);
    expect(results[0]!.spent).toBeLessThanOrEqual(0.002);

    let calls = 0;
    const retrying = new OpenAI({
      apiKey: key,
      baseURL: `${BASE}/v1`,
      maxRetries: 3,
      fetch: (input, init) => {
        calls++;
        return gateway(String(input).slice(BASE.length), init as RequestInit);
      },
    });
    await expect(retrying.chat.completions.create(chat())).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    expect(calls).toBe(1);
  });

  it('never lets a zero-priced model hit a budget', async () => {
    const key = limitedKey('free');
    for (let i = 0; i < 3; i++) expect((await postJson('/v1/chat/completions', chat('demo'), key)).status).toBe(200);
  });
});
