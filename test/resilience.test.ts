import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { forgetLocalHealth } from '../src/routing/health';
import { KEYS } from './support/constants';
import { client, inWorker, logRow, postJson, postWithEnv, sseData, testEnv, upstreamSaw } from './support/gateway';

const hello = [{ role: 'user' as const, content: 'are you there' }];
const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: hello, ...extra });
type AttemptRow = { n: number; provider: string; model: string; status: number | null; error_code: string | null; wait_ms: number };

async function attemptRows(requestId: string): Promise<AttemptRow[]> {
  await logRow(requestId);
  const { results } = await testEnv.DB.prepare('SELECT * FROM attempts WHERE request_id = ? ORDER BY n').bind(requestId).all<AttemptRow>();
  return results;
}

async function timed(model: string, extra: Record<string, unknown> = {}) {
  const started = Date.now();
  const res = await postJson('/v1/chat/completions', chat(model, extra));
  await res.clone().text();
  return { res, ms: Date.now() - started, id: res.headers.get('x-request-id')! };
}

describe('retries honour the upstream wait', () => {
  it.each([
    ['429ms', 300, 900],
    ['429s', 1000, 1600],
    ['429date', 500, 2100],
    ['429reset', 300, 900],
  ])('429 with the %s form of the wait: waits as asked, then succeeds', async (mode, least, most) => {
    const { res, ms, id } = await timed(`retry-${mode}`);
    expect(res.status).toBe(200);
    expect(ms).toBeGreaterThanOrEqual(least);
    expect(ms).toBeLessThan(most);
    expect(res.headers.get('x-gateway-attempts')).toBe('2');
    expect(await upstreamSaw(id)).toHaveLength(2);
    const rows = await attemptRows(id);
    expect(rows.map((r) => [r.status, r.error_code])).toEqual([[429, 'upstream_rate_limited'], [200, null]]);
    expect(rows[1]!.wait_ms).toBeGreaterThanOrEqual(least - 50);
  });

  it('ignores a garbage retry-after and falls back to its own backoff', async () => {
    const { res, ms } = await timed('retry-429garbage');
    expect(res.status).toBe(200);
    expect(ms).toBeLessThan(300);
  });

  it('fails over at once when the wait is longer than it is worth', async () => {
    const { res, ms, id } = await timed('huge-wait');
    expect(res.status).toBe(200);
    expect(ms).toBeLessThan(500);
    expect(res.headers.get('x-gateway-provider')).toBe('openai');
    expect((await attemptRows(id)).map((r) => r.provider)).toEqual(['retrying', 'openai']);
  });

  it('fails over at once on a status listed in failover_on, without retrying', async () => {
    const { res, id } = await timed('failover-on-429');
    expect(res.status).toBe(200);
    expect((await attemptRows(id)).map((r) => r.provider)).toEqual(['fixture', 'openai']);
  });
});

describe('failover', () => {
  it('retries a 500 as configured, then the second provider serves a normal answer', async () => {
    const { data, response } = await client().chat.completions.create(chat('retry-then-failover')).withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: are you there');
    expect(response.headers.get('x-gateway-provider')).toBe('openai');
    expect(response.headers.get('x-gateway-attempts')).toBe('4');
    expect(Number(response.headers.get('x-gateway-overhead-ms'))).toBeGreaterThanOrEqual(0);
    const rows = await attemptRows(response.headers.get('x-request-id')!);
    expect(rows.map((r) => `${r.provider}:${r.status}`)).toEqual(['fixture:500', 'fixture:500', 'fixture:500', 'openai:200']);
  });

  it('fails a stream over before its first byte: an error as the first event is invisible to the client', async () => {
    const stream = await client().chat.completions.create({ model: 'stream-error-first', messages: hello, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: are you there');
  });

  it('after the first byte, a failure is one error event and the client raises', async () => {
    const res = await postJson('/v1/chat/completions', chat('fixture/fault-reset-stream', { stream: true }));
    const events = await sseData(res);
    expect(events.filter((e) => e.startsWith('{"error"'))).toHaveLength(1);
    const stream = await client().chat.completions.create({ model: 'fixture/fault-reset-stream', messages: hello, stream: true });
    await expect((async () => { for await (const _ of stream); })()).rejects.toBeInstanceOf(OpenAI.APIError);
  });
});

describe('fleet-wide circuit breaker', () => {
  it('opens after N unanswered calls, calls nothing until the cooldown ends, then lets one probe through', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await timed('breaker-dead')).id);
    expect((await Promise.all(ids.map(upstreamSaw))).flat()).toHaveLength(3);
    await expect.poll(async () => (await testEnv.HEALTH.get(testEnv.HEALTH.idFromName('fleet')).snapshot()).find((t) => t.target === 'hangy/fault-hang')?.state, { timeout: 2000 }).toBe('open');

    const blocked = await timed('breaker-dead');
    expect(blocked.res.status).toBe(503);
    expect(blocked.ms).toBeLessThan(300);
    expect(Number(blocked.res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await blocked.res.json()) as { error: { code: string } }).error.code).toBe('all_targets_unavailable');
    expect(await upstreamSaw(blocked.id)).toHaveLength(0);

    // A brand-new isolate knows nothing locally: it learns the open breaker from the
    // Health object, and still does not call the dead target.
    forgetLocalHealth();
    const fresh = await timed('breaker-dead');
    expect(fresh.res.status).toBe(503);
    expect(await upstreamSaw(fresh.id)).toHaveLength(0);

    await new Promise((r) => setTimeout(r, 700));
    forgetLocalHealth();
    const probes = await Promise.all([timed('breaker-dead'), timed('breaker-dead'), timed('breaker-dead')]);
    const reached = (await Promise.all(probes.map((p) => upstreamSaw(p.id)))).flat();
    expect(reached).toHaveLength(1);
  });

  it('answers fast with 503 and the earliest recovery when every target refuses connections', async () => {
    const first = await timed('all-down');
    expect(first.res.status).toBe(502);
    await expect.poll(async () => (await timed('all-down')).res.status, { timeout: 2000 }).toBe(503);
    const down = await timed('all-down');
    expect(down.ms).toBeLessThan(300);
    const wait = Number(down.res.headers.get('retry-after-ms'));
    expect(wait).toBeGreaterThan(3000);
    expect(wait).toBeLessThanOrEqual(5000);
  });
});

describe('when the Health object cannot be reached', () => {
  it('serves anyway: every target counts as healthy', async () => {
    forgetLocalHealth();
    try {
      const { res } = await postWithEnv('/v1/chat/completions', chat('retry-then-failover'), { HEALTH: undefined });
      expect(res.status).toBe(200);
    } finally {
      forgetLocalHealth();
    }
  });
});

describe('limits on retrying', () => {
  it('keeps a retry storm within the retry budget, then fails fast with x-should-retry: false', async () => {
    const config = structuredClone(testEnv.GATEWAY_CONFIG) as { routing: Record<string, unknown> };
    config.routing.retry_budget = { ratio: 0.2, min_per_window: 2, window_s: 10 };
    const calls = 40;
    const responses = await inWorker({ GATEWAY_CONFIG: config }, async (fetch) => {
      const answers = [];
      for (let i = 0; i < calls; i++) {
        answers.push(
          await fetch(
            new Request('http://gateway.test/v1/chat/completions', {
              method: 'POST',
              headers: { authorization: `Bearer ${KEYS.teamA}`, 'content-type': 'application/json', 'cf-connecting-ip': '192.0.2.1' },
              body: JSON.stringify(chat('storm')),
            }),
          ),
        );
      }
      return answers;
    }, { quiet: true });
    const attempts = (await Promise.all(responses.map((r) => upstreamSaw(r.headers.get('x-request-id')!)))).flat().length;
    // Without a budget: 40 calls × 4 attempts = 160. With it: 40 + about 20% more. The
    // budget is per isolate, so calls of earlier tests in the same window add a little
    // to it (20% of theirs): hence the slack of 10.
    expect(attempts).toBeLessThanOrEqual(calls + Math.ceil(0.2 * calls) + 10);
    expect(responses.some((r) => r.headers.get('x-should-retry') === 'false')).toBe(true);
  });

  it('never runs past the deadline, whatever the retry settings', async () => {
    const config = structuredClone(testEnv.GATEWAY_CONFIG) as { routing: Record<string, unknown>; models: Record<string, unknown> };
    config.routing.deadline_ms = 600;
    config.models['slow-retries'] = { targets: [{ provider: 'quick', model: 'fault-hang' }], retry: { retries: 10, base_ms: 100, cap_ms: 100 } };
    const started = Date.now();
    const { res } = await postWithEnv('/v1/chat/completions', chat('slow-retries'), { GATEWAY_CONFIG: config });
    expect(Date.now() - started).toBeLessThan(800);
    expect(res.status).toBe(504);
  });
});

describe('balancing', () => {
  it('splits a tier by weight', async () => {
    const served: Record<string, number> = {};
    for (let i = 0; i < 200; i++) {
      const res = await postJson('/v1/chat/completions', chat('weighted'));
      const provider = res.headers.get('x-gateway-provider')!;
      served[provider] = (served[provider] ?? 0) + 1;
      await res.text();
    }
    expect(served.demo).toBeGreaterThan(120);
    expect(served.demo).toBeLessThan(180);
    expect(served.demo2).toBe(200 - served.demo!);
  });

  it('prefers the target with the lowest recent latency', async () => {
    for (let i = 0; i < 2; i++) await (await postJson('/v1/chat/completions', chat('fastest'))).text();
    const providers = [];
    for (let i = 0; i < 10; i++) {
      const res = await postJson('/v1/chat/completions', chat('fastest'));
      providers.push(res.headers.get('x-gateway-provider'));
      await res.text();
    }
    expect(providers.filter((p) => p === 'openai').length).toBeGreaterThanOrEqual(9);
  });
});

describe('chaos for users', () => {
  const chaos = (mode: string, extra: Record<string, unknown> = {}) =>
    postJson('/v1/chat/completions', chat('chaos-route', extra), 'sk-chaos-monkey', { 'x-gateway-chaos': mode });

  it.each(['429', '500', 'timeout'])('simulates a %s of the first target, which the gateway rides through', async (mode) => {
    const res = await chaos(mode);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-attempts')).toBe('2');
    const rows = await attemptRows(res.headers.get('x-request-id')!);
    expect(rows[0]!.error_code).not.toBeNull();
    expect(await upstreamSaw(res.headers.get('x-request-id')!)).toHaveLength(1);
  });

  it('simulates a stream cut after its first byte', async () => {
    const events = await sseData(await chaos('cut-stream', { stream: true }));
    expect(events.at(-1)).toMatch(/^\{"error"/);
  });

  it('is refused for keys not allowed to use it', async () => {
    const res = await postJson('/v1/chat/completions', chat('chaos-route'), KEYS.teamA, { 'x-gateway-chaos': '500' });
    expect(res.status).toBe(403);
  });
});
