import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { PROVIDER_SECRETS } from './support/constants';
import { clientError, expectClean } from './support/errors';
import { exports } from 'cloudflare:workers';
import { BASE, client, logRow, postJson, postWithEnv, testEnv, upstreamSaw, upstreamSawHangUp } from './support/gateway';
import { limitedKey } from './support/test-config';

/**
 * Issue 9, the upstream side: nothing an upstream sends back can carry our
 * credential to the caller; redirects are never followed; a 200 that is not an
 * answer is a failed attempt; failover is not starved by same-target retries; a
 * refused connection moves on at once.
 */

const hello = [{ role: 'user' as const, content: 'hello upstream' }];
const credential = PROVIDER_SECRETS.FIXTURE_API_KEY;
type AttemptRow = { provider: string; status: number | null; error_code: string | null };

async function attemptRows(requestId: string): Promise<AttemptRow[]> {
  await logRow(requestId);
  const { results } = await testEnv.DB.prepare('SELECT provider, status, error_code FROM attempts WHERE request_id = ? ORDER BY n').bind(requestId).all<AttemptRow>();
  return results;
}

function withConfig(patch: (config: { routing: Record<string, unknown>; models: Record<string, unknown> }) => void) {
  const config = structuredClone(testEnv.GATEWAY_CONFIG) as { routing: Record<string, unknown>; models: Record<string, unknown> };
  patch(config);
  return { GATEWAY_CONFIG: config };
}

describe('upstream errors never carry the credential to the caller', () => {
  it.each([
    [400, 400, OpenAI.BadRequestError],
    [422, 422, OpenAI.UnprocessableEntityError],
    [429, 429, OpenAI.RateLimitError],
  ])('redacts every field of a %i that quotes the credential', async (status, want, kind) => {
    const res = await postJson('/v1/chat/completions', { model: `fixture/fault-echo-credential-${status}`, messages: hello });
    const text = await res.text();
    expect(res.status).toBe(want);
    expect(text).not.toContain(credential);
    expect(text).not.toContain(credential.slice(0, 24));
    expectClean(text, res.headers);
    const { error } = JSON.parse(text) as { error: Record<string, string | null> };
    expect(error.type).toBe(status === 429 ? 'rate_limit_error' : 'invalid_request_error');
    expect(error.code).toBe(status === 429 ? 'upstream_rate_limited' : 'upstream_rejected');
    expect(error.param).toBeNull();
    for (const value of Object.values(res.headers)) expect(String(value)).not.toContain(credential);

    const err = await clientError(client().chat.completions.create({ model: `fixture/fault-echo-credential-${status}`, messages: hello }));
    expect(err).toBeInstanceOf(kind);
    expect(JSON.stringify(err.error)).not.toContain(credential.slice(0, 24));
  });
});

describe('redirects are never followed', () => {
  it.each(['307-same', '307-cross', '302'])('fails a %s as 502 after one request, without retrying it', async (mode) => {
    const env = withConfig((config) => {
      config.routing.retry = { retries: 2, base_ms: 1, cap_ms: 2 };
    });
    const { res, text } = await postWithEnv('/v1/chat/completions', { model: `fixture/fault-redirect-${mode}`, messages: hello }, env);
    expect(res.status, text).toBe(502);
    expect(JSON.parse(text).error.code).toBe('upstream_failed');
    expect(text).toMatch(/redirect/);
    const id = res.headers.get('x-request-id')!;
    // Exactly the one request: the redirect target was never asked, with or without the credential.
    const seen = await upstreamSaw(id);
    expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual([`POST /compat/v1/chat/completions`]);
    expect(await attemptRows(id)).toEqual([{ provider: 'fixture', status: mode === '302' ? 302 : 307, error_code: 'upstream_failed' }]);
  });
});

describe('a 200 that is not an answer is a failed attempt', () => {
  it.each(['fault-200-error', 'fault-200-empty'])('answers %s with 502 upstream_invalid_response, logged as a failure', async (model) => {
    const res = await postJson('/v1/chat/completions', { model: `fixture/${model}`, messages: hello });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_invalid_response');
    expect(await logRow(res.headers.get('x-request-id')!)).toMatchObject({ status: 502, error_code: 'upstream_invalid_response' });
  });

  it('fails over to a healthy second target', async () => {
    const env = withConfig((config) => {
      config.models['bad-200'] = { targets: [{ provider: 'fixture', model: 'fault-200-error' }, { provider: 'openai', model: 'gpt-test' }] };
    });
    const { res, text } = await postWithEnv('/v1/chat/completions', { model: 'bad-200', messages: hello }, env);
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text).choices[0].message.content).toBe('echo: hello upstream');
    expect(await attemptRows(res.headers.get('x-request-id')!)).toEqual([
      { provider: 'fixture', status: null, error_code: 'upstream_invalid_response' },
      { provider: 'openai', status: 200, error_code: null },
    ]);
  });

  it('fails a stream whose first event is not JSON before anything reaches the client, so it can fail over', async () => {
    const direct = await postJson('/v1/chat/completions', { model: 'fixture/fault-bad-first-line', messages: hello, stream: true });
    expect(direct.status).toBe(502);
    expect(((await direct.json()) as { error: { code: string } }).error.code).toBe('upstream_invalid_response');
    const env = withConfig((config) => {
      config.models['bad-first'] = { targets: [{ provider: 'fixture', model: 'fault-bad-first-line' }, { provider: 'openai', model: 'gpt-test' }] };
    });
    const { res, text } = await postWithEnv('/v1/chat/completions', { model: 'bad-first', messages: hello, stream: true }, env);
    expect(res.status).toBe(200);
    expect(text).toContain('data: [DONE]');
    expect(text).not.toContain('"error"');
    expect(res.headers.get('x-gateway-provider')).toBe('openai');
  });

  it('fails an embeddings 200 without data', async () => {
    const res = await postJson('/v1/embeddings', { model: 'fixture/fault-200-error', input: 'x' });
    expect(res.status).toBe(502);
  });
});

describe('failover is not starved by same-target retries', () => {
  it('serves at least 99 % of calls when one of two targets fails 30 % of the time, with default routing', async () => {
    const env = withConfig((config) => {
      // The gateway's defaults (tests elsewhere turn retries and budgets off), with quick backoff.
      config.routing = { retry: { retries: 2, base_ms: 5, cap_ms: 20 } };
      config.models['thirty-percent'] = { targets: [{ provider: 'fixture', model: 'fault-503-30pct' }, { provider: 'openai', model: 'gpt-test' }] };
    });
    const statuses: number[] = [];
    for (let round = 0; round < 20; round++) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, () => postWithEnv('/v1/chat/completions', { model: 'thirty-percent', messages: hello }, env)),
      );
      statuses.push(...batch.map(({ res }) => res.status));
    }
    const served = statuses.filter((s) => s === 200).length;
    expect(served / statuses.length).toBeGreaterThanOrEqual(0.99);
  });
});

describe('a refused connection', () => {
  it('fails over at once instead of retrying the dead target', async () => {
    const env = withConfig((config) => {
      config.routing.retry = { retries: 2, base_ms: 100, cap_ms: 200 };
    });
    const { res, text } = await postWithEnv('/v1/chat/completions', { model: 'failover-refused', messages: hello }, env);
    expect(res.status, text).toBe(200);
    expect(res.headers.get('x-gateway-attempts')).toBe('2');
    expect(await attemptRows(res.headers.get('x-request-id')!)).toEqual([
      { provider: 'dead', status: null, error_code: 'upstream_failed' },
      { provider: 'openai', status: 200, error_code: null },
    ]);
  });

  it('is still retried when it is the only target', async () => {
    const env = withConfig((config) => {
      config.routing.retry = { retries: 2, base_ms: 1, cap_ms: 2 };
    });
    const { res } = await postWithEnv('/v1/chat/completions', { model: 'dead/anything', messages: hello }, env);
    expect(res.status).toBe(502);
    expect(await attemptRows(res.headers.get('x-request-id')!)).toHaveLength(3);
  });
});

async function earlyRows() {
  const { results } = await testEnv.DB.prepare(
    "SELECT request_id, status, error_code, latency_ms, prompt_tokens, completion_tokens, usage_source FROM calls WHERE key_id = 'abort-early'",
  ).all<{ request_id: string; status: number; error_code: string; latency_ms: number; prompt_tokens: number; completion_tokens: number; usage_source: string }>();
  return results;
}

describe('a client that leaves before the response headers', () => {
  it('is logged 499 at once, the upstream is hung up on, and its concurrency slot is free again', async () => {
    const worker = (exports as unknown as { default: Fetcher }).default;
    const key = limitedKey('abort-early'); // concurrency 1: a leaked slot would refuse the next call
    for (let i = 0; i < 3; i++) {
      const marker = `leaves early ${i} ${crypto.randomUUID()}`;
      const controller = new AbortController();
      const pending = worker.fetch(
        new Request(`${BASE}/v1/chat/completions`, {
          method: 'POST',
          signal: controller.signal,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'cf-connecting-ip': '198.51.100.77' },
          body: JSON.stringify({ model: 'fixture/fault-hang', messages: [{ role: 'user', content: marker }] }),
        }),
      );
      // Late enough for the call to reach the provider on a loaded machine, far before its 30 s first byte.
      setTimeout(() => controller.abort(), 500);
      await expect(pending).rejects.toThrow();
      // Each abort leaves its row at once, with no response ever sent.
      await expect.poll(() => earlyRows().then((rows) => rows.length), { timeout: 2000 }).toBe(i + 1);
    }
    const results = await earlyRows();
    expect(results).toHaveLength(3);
    for (const row of results) {
      // Charged the prompt the provider received, counted by the gateway.
      expect(row).toMatchObject({ status: 499, error_code: 'client_closed', usage_source: 'gateway', completion_tokens: 0 });
      expect(row.prompt_tokens).toBeGreaterThan(0);
      // Long before the fixture provider's 30 s first-byte timeout.
      expect(row.latency_ms).toBeLessThan(5000);
      expect(await upstreamSawHangUp(row.request_id)).toBe(true);
    }
    const served = await postJson('/v1/chat/completions', { model: 'gpt-test', messages: hello }, key);
    expect(served.status).toBe(200);
  });
});
