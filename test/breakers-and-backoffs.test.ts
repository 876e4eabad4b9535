import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { limitedKey } from './support/test-config';
import { clientError } from './support/errors';
import { client, logRow, postJson, postWithEnv, testEnv, upstreamSaw, type RecordedRequest } from './support/gateway';

/**
 * Issue 8's contract: breakers steer traffic between targets but never take a
 * model's last way out because of bad answers; a provider's rate limit reaches
 * callers as a rate limit (429 upstream_rate_limited), after the key's own limits;
 * and an upstream answer too large to hold is refused without being read whole.
 */

const ask = (content: string) => [{ role: 'user' as const, content }];
type AttemptRow = { n: number; provider: string; status: number | null; error_code: string | null; decision: string | null };

async function attemptRows(requestId: string): Promise<AttemptRow[]> {
  await logRow(requestId);
  const { results } = await testEnv.DB.prepare('SELECT n, provider, status, error_code, decision FROM attempts WHERE request_id = ? ORDER BY n')
    .bind(requestId)
    .all<AttemptRow>();
  return results;
}

async function fleetHealth(target: string) {
  const snapshot = await testEnv.HEALTH.get(testEnv.HEALTH.idFromName('fleet')).snapshot();
  return snapshot.find((t) => t.target === target);
}

describe("a provider's rate limit is a rate limit", () => {
  it('answers a backed-off target with 429 upstream_rate_limited to every key, without calling it; other models are unaffected', async () => {
    const first = await clientError(client().chat.completions.create({ model: 'backoff-429', messages: ask('hi') }));
    expect(first).toBeInstanceOf(OpenAI.RateLimitError);
    expect(first.code).toBe('upstream_rate_limited');
    expect(first.type).toBe('rate_limit_error');
    expect(first.headers?.get('x-should-retry')).toBe('true');
    expect(first.headers?.get('retry-after')).toBe('1');
    expect(first.headers?.get('retry-after-ms')).toBe('1000');

    // Another key, which never saw the 429: the fleet waits out the provider's back-off for everyone.
    const started = Date.now();
    const again = await clientError(client(limitedKey('fleet-a')).chat.completions.create({ model: 'backoff-429', messages: ask('hi') }));
    expect(Date.now() - started).toBeLessThan(200);
    expect(again).toBeInstanceOf(OpenAI.RateLimitError);
    expect(again.code).toBe('upstream_rate_limited');
    expect(again.headers?.get('x-should-retry')).toBe('true');
    expect(Number(again.headers?.get('retry-after-ms'))).toBeGreaterThan(0);
    expect(Number(again.headers?.get('retry-after-ms'))).toBeLessThanOrEqual(1000);
    const id = again.headers?.get('x-request-id') ?? '';
    expect(await upstreamSaw(id)).toHaveLength(0);
    const row = await logRow(id);
    expect(row).toMatchObject({ status: 429, error_code: 'upstream_rate_limited', attempts: 0 });
    expect(await attemptRows(id)).toEqual([{ n: 1, provider: 'limited', status: null, error_code: null, decision: 'skipped_backoff' }]);

    // The same provider's other model, and other providers, serve as usual.
    const other = await client().chat.completions.create({ model: 'backoff-other', messages: ask('still there?') });
    expect(other.choices[0]!.message.content).toBe('echo: still there?');
    const elsewhere = await client().chat.completions.create({ model: 'gpt-test', messages: ask('and here?') });
    expect(elsewhere.choices[0]!.message.content).toBe('echo: and here?');

    // The back-off expires by time: the provider is asked again.
    await new Promise((resolve) => setTimeout(resolve, 1050));
    const later = await postJson('/v1/chat/completions', { model: 'backoff-429', messages: ask('hi') });
    expect(later.status).toBe(429);
    expect(await upstreamSaw(later.headers.get('x-request-id')!)).toHaveLength(1);
  });

  it('backs off every model of a provider whose limits are account-wide (rate_limit_scope = "provider")', async () => {
    const first = await postJson('/v1/chat/completions', { model: 'account/fault-429-1s', messages: ask('hi') });
    expect(first.status).toBe(429);
    const sibling = await clientError(client().chat.completions.create({ model: 'account/gpt-test', messages: ask('hi') }));
    expect(sibling).toBeInstanceOf(OpenAI.RateLimitError);
    expect(sibling.code).toBe('upstream_rate_limited');
    expect(await upstreamSaw(sibling.headers?.get('x-request-id') ?? '')).toHaveLength(0);
    // A provider limited per model (the default) is not: see the first test.
    await new Promise((resolve) => setTimeout(resolve, 1050));
    const later = await client().chat.completions.create({ model: 'account/gpt-test', messages: ask('later') });
    expect(later.choices[0]!.message.content).toBe('echo: later');
  });

  it("reports the key's own limit first: an over-limit key gets rate_limit_exceeded and its x-ratelimit headers", async () => {
    const key = limitedKey('backoff');
    await clientError(client().chat.completions.create({ model: 'fixture/fault-429-1s', messages: ask('hi') }));
    // The key's one request is spent above (a provider 429 is still a request); the target is backed off too.
    const err = await clientError(client(key).chat.completions.create({ model: 'fixture/fault-429-1s', messages: ask('hi') }));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const second = await clientError(client(key).chat.completions.create({ model: 'fixture/fault-429-1s', messages: ask('hi') }));
    expect(second).toBeInstanceOf(OpenAI.RateLimitError);
    expect(second.code).toBe('rate_limit_exceeded');
    expect(second.headers?.get('x-ratelimit-limit-requests')).toBe('1');
    expect(second.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
  });

  it('caps how long one answer blocks a target, and ignores absurd waits', async () => {
    const config = structuredClone(testEnv.GATEWAY_CONFIG) as { routing: Record<string, unknown> };
    config.routing.max_backoff_ms = 1500;
    const { res, text } = await postWithEnv('/v1/chat/completions', { model: 'fixture/fault-429-huge', messages: ask('hi') }, { GATEWAY_CONFIG: config });
    expect(res.status, text).toBe(429);
    expect(JSON.parse(text).error.code).toBe('upstream_rate_limited');
    // The provider asked for an hour; the caller and the fleet hear 1.5 s.
    expect(res.headers.get('retry-after-ms')).toBe('1500');
    expect(res.headers.get('retry-after')).toBe('2');
    const health = await fleetHealth('fixture/fault-429-huge');
    expect(health!.retryAfterUntil).toBeLessThanOrEqual(Date.now() + 1500);

    // A retry-after in the year 2100 is garbage: nothing is blocked by it.
    const absurd = await postJson('/v1/chat/completions', { model: 'fixture/fault-429-2100', messages: ask('hi') });
    expect(absurd.status).toBe(429);
    expect(absurd.headers.get('retry-after')).toBeNull();
    expect((await fleetHealth('fixture/fault-429-2100'))?.retryAfterUntil ?? 0).toBe(0);
    const again = await postJson('/v1/chat/completions', { model: 'fixture/fault-429-2100', messages: ask('hi') });
    expect(await upstreamSaw(again.headers.get('x-request-id')!)).toHaveLength(1);
  });
});

describe('breakers never eject the last way out', () => {
  it("keeps a single-target model serving healthy prompts after bad prompts open its breaker", async () => {
    for (let i = 0; i < 3; i++) {
      const err = await clientError(client().chat.completions.create({ model: 'fragile', messages: ask(`poison ${i}`) }));
      expect(err.status).toBe(502);
    }
    await expect.poll(async () => (await fleetHealth('picky/fault-500-on-poison'))?.state, { timeout: 2000 }).toBe('open');

    const { data, response } = await client(limitedKey('fleet-b'))
      .chat.completions.create({ model: 'fragile', messages: ask('a healthy prompt') })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: a healthy prompt');
    const id = response.headers.get('x-request-id')!;
    expect(await attemptRows(id)).toEqual([{ n: 1, provider: 'picky', status: 200, error_code: null, decision: 'panic' }]);

    const stream = await client().chat.completions.create({ model: 'fragile', messages: ask('streamed'), stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: streamed');
  });

  it('skips the failing target of two and lets the other serve, without calling it', async () => {
    const first = await client().chat.completions.create({ model: 'fragile-pair', messages: ask('one') }).withResponse();
    expect(first.response.headers.get('x-gateway-provider')).toBe('openai');
    await expect.poll(async () => (await fleetHealth('picky2/fault-500'))?.state, { timeout: 2000 }).toBe('open');

    const { data, response } = await client().chat.completions.create({ model: 'fragile-pair', messages: ask('two') }).withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: two');
    const id = response.headers.get('x-request-id')!;
    expect(response.headers.get('x-gateway-attempts')).toBe('1');
    const seen = (await upstreamSaw(id)) as RecordedRequest[];
    expect(seen.map((r) => r.path)).toEqual(['/openai/v1/chat/completions']);
    expect(await attemptRows(id)).toEqual([
      { n: 1, provider: 'picky2', status: null, error_code: null, decision: 'skipped_breaker' },
      { n: 2, provider: 'openai', status: 200, error_code: null, decision: null },
    ]);
    expect(await logRow(id)).toMatchObject({ status: 200, attempts: 1 });
  });

  it('a target that answers only errors is still called as the last way out, and the caller sees its error', async () => {
    for (let i = 0; i < 4; i++) await postJson('/v1/chat/completions', { model: 'breaker-answering', messages: ask('x') });
    await expect.poll(async () => (await fleetHealth('breaky/fault-500'))?.state, { timeout: 2000 }).toBe('open');
    const res = await postJson('/v1/chat/completions', { model: 'breaker-answering', messages: ask('x') });
    expect(res.status).toBe(502);
    expect(await upstreamSaw(res.headers.get('x-request-id')!)).toHaveLength(1);
  });
});

describe('upstream answers too large to hold', () => {
  it.each(['fault-huge-body', 'fault-huge-declared'])('refuses %s with 502 upstream_response_too_large, reading at most a little past the cap', async (model) => {
    const calls = await Promise.all(
      Array.from({ length: 4 }, () => client().chat.completions.create({ model: `huge/${model}`, messages: ask('big') }).then(() => null, (e: unknown) => e)),
    );
    for (const err of calls) {
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
      expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_response_too_large');
    }
    const ids = calls.map((err) => (err as InstanceType<typeof OpenAI.APIError>).headers?.get('x-request-id') ?? '');
    for (const id of ids) {
      const [seen] = (await upstreamSaw(id)) as (RecordedRequest & { bytesSent?: number })[];
      // The gateway hung up: the upstream never got to write its 64 MiB (socket buffers hold a few MiB at most).
      expect(seen!.closedEarly).toBe(true);
      expect(seen!.bytesSent ?? 0).toBeLessThan(16 * 1024 * 1024);
      expect(await logRow(id)).toMatchObject({ status: 502, error_code: 'upstream_response_too_large' });
    }
    expect((await fleetHealth(`huge/${model}`))?.consecutiveFailures).toBeGreaterThanOrEqual(1);
  });

  it('times out a non-streamed body that stalls after its headers (idle timeout)', async () => {
    const started = Date.now();
    const res = await postJson('/v1/chat/completions', { model: 'huge/fault-stall-body', messages: ask('hi') });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string; message: string } }).error.message).toMatch(/idle/);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
