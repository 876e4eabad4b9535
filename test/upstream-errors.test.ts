import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { KEYS, PROVIDER_SECRETS } from './support/constants';
import { clientError, expectClean, expectError as expectCallError, type Expected } from './support/errors';
import { client, logRow, postJson, upstreamSaw } from './support/gateway';

/**
 * Upstream faults (fixture models `fault-*`), failover, and what the upstream gets
 * to see. The caller always gets an OpenAI-shaped, scrubbed error; the D1 row keeps
 * the gateway's own code (an upstream 4xx passed on is logged as upstream_rejected).
 */

/** Every call here is made with team A's key. */
const expectError = (res: Response, want: Expected) => expectCallError(res, { keyId: 'team-a', ...want });


const hello = [{ role: 'user' as const, content: 'hello upstream' }];
const chat = (model: string, extra: Record<string, unknown> = {}) =>
  postJson('/v1/chat/completions', { model, messages: hello, ...extra });

describe('upstream 4xx, passed on in OpenAI shape', () => {
  it('passes a 400 on with its param, in our vocabulary, scrubbed of credentials and hosts', async () => {
    const { id, error, row } = await expectError(await chat('fixture/fault-400'), {
      status: 400, code: 'upstream_rejected', param: 'messages',
    });
    expect(error.message).toContain('(invalid_value): Invalid value for messages');
    for (const leak of ['hunter2', 'sk-upstream-secret-123', 'internal.example.com', 'https://', 'admin:']) {
      expect(error.message).not.toContain(leak);
    }
    expect(row).toMatchObject({ provider: 'fixture', upstream_model: 'fault-400', attempts: 1 });
    expect(await upstreamSaw(id)).toHaveLength(1);

    const err = await clientError(client().chat.completions.create({ model: 'fixture/fault-400', messages: hello }));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe('messages');
  });

  it('passes a 404 on as 404 (NotFoundError)', async () => {
    const { error } = await expectError(await chat('fixture/fault-404'), { status: 404, code: 'upstream_rejected' });
    expect(error.message).toContain('(model_not_found)');
    const err = await clientError(client().chat.completions.create({ model: 'fixture/fault-404', messages: hello }));
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('passes a 429 on as upstream_rate_limited with its retry-after (RateLimitError)', async () => {
    const res = await chat('fixture/fault-429');
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.headers.get('retry-after-ms')).toBe('2000');
    expect(res.headers.get('x-should-retry')).toBe('true');
    // The provider's account headers are not the caller's rate limit.
    expect(res.headers.get('x-ratelimit-reset-requests')).toBeNull();
    await expectError(res, { status: 429, code: 'upstream_rate_limited', type: 'rate_limit_error' });
    // The provider's wait is honoured fleet-wide: the target is not called again
    // until it passes, and the gateway says so at once, still as a rate limit.
    const started = Date.now();
    const err = await clientError(client().chat.completions.create({ model: 'fixture/fault-429', messages: hello }));
    expect(Date.now() - started).toBeLessThan(300);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.code).toBe('upstream_rate_limited');
    expect(Number(err.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(err.headers?.get('retry-after'))).toBeLessThanOrEqual(2);
  });
});

describe('upstream failures become gateway errors', () => {
  it('answers 502 upstream_credential_rejected when the provider refuses our credential, never 401', async () => {
    const { error } = await expectError(await chat('fixture/fault-401'), { status: 502, code: 'upstream_credential_rejected' });
    expect(error.message).not.toMatch(/sk-prov/);
    const err = await clientError(client().chat.completions.create({ model: 'fixture/fault-401', messages: hello }));
    expect(err).not.toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(502);
  });

  it.each(['fault-500', 'fault-502', 'fault-503'])('answers 502 upstream_failed for fixture/%s', async (model) => {
    const { row } = await expectError(await chat(`fixture/${model}`), { status: 502, code: 'upstream_failed' });
    expect(row).toMatchObject({ provider: 'fixture', upstream_model: model, attempts: 1 });
  });

  it('answers 502 for an HTML error page without passing any of it on', async () => {
    const { error } = await expectError(await chat('fixture/fault-html-500'), { status: 502, code: 'upstream_failed' });
    expect(error.message).not.toMatch(/<|>|html|internal\.example\.com|https?:/i);
  });

  it('answers 502 upstream_invalid_response for a 200 with broken JSON', async () => {
    await expectError(await chat('fixture/fault-bad-json'), { status: 502, code: 'upstream_invalid_response' });
  });

  it('answers 502 when the provider refuses the connection, without naming its address', async () => {
    const { error, row } = await expectError(await chat('dead/x'), { status: 502, code: 'upstream_failed' });
    expect(error.message).not.toMatch(/127\.0\.0\.1|:9\b|ECONNREFUSED/);
    expect(row.provider).toBe('dead');
  });

  it('answers 504 upstream_timeout soon after the first-byte timeout (400 ms)', async () => {
    const started = Date.now();
    const res = await chat('quick/fault-hang');
    const elapsed = Date.now() - started;
    await expectError(res, { status: 504, code: 'upstream_timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(2000);
  });

  it.each([false, true])('never answers with a stack trace or a secret (stream: %s)', async (stream) => {
    const models = ['fault-400', 'fault-401', 'fault-404', 'fault-429', 'fault-500', 'fault-html-500', 'fault-bad-json'];
    const addresses = [...models.map((m) => `fixture/${m}`), 'dead/x', 'nope/x', 'failover-500'];
    for (const model of addresses) {
      const res = await chat(model, { stream });
      const text = await res.text();
      expectClean(text, res.headers);
      expect((await logRow(res.headers.get('x-request-id')!)).status).toBe(res.status);
    }
  });
});

describe('credentials upstream', () => {
  it('sends the provider credential and never the caller key', async () => {
    for (const key of [KEYS.teamA, KEYS.teamANext]) {
      const res = await postJson('/v1/chat/completions', { model: 'gpt-test', messages: hello }, key, {
        'x-api-key': key,
        'openai-organization': 'caller-org',
      });
      expect(res.status).toBe(200);
      const id = res.headers.get('x-request-id')!;
      const seen = await upstreamSaw(id);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.headers.authorization).toBe(`Bearer ${PROVIDER_SECRETS.OPENAI_API_KEY}`);
      expect(seen[0]!.headers['openai-organization']).toBeUndefined();
      for (const secret of Object.values(KEYS)) expect(JSON.stringify(seen)).not.toContain(secret);
      expect((await logRow(id)).key_id).toBe('team-a');
    }
  });

  it("uses each provider's own credential, and none where none is configured", async () => {
    const fixture = await chat('fixture/plain-model');
    expect(fixture.status).toBe(200);
    const [viaFixture] = await upstreamSaw(fixture.headers.get('x-request-id')!);
    expect(viaFixture!.headers.authorization).toBe(`Bearer ${PROVIDER_SECRETS.FIXTURE_API_KEY}`);

    const quick = await chat('quick/plain-model');
    expect(quick.status).toBe(200);
    const [viaQuick] = await upstreamSaw(quick.headers.get('x-request-id')!);
    expect(viaQuick!.headers.authorization).toBeUndefined();
    expect(JSON.stringify(viaQuick)).not.toContain(KEYS.teamA);
  });
});

describe('failover', () => {
  async function servedBySecond(alias: string, upstreamCalls: string[]): Promise<number> {
    const started = Date.now();
    const res = await chat(alias);
    const elapsed = Date.now() - started;
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(res.status).toBe(200);
    expect(body.choices[0]!.message.content).toBe('echo: hello upstream');
    expect(res.headers.get('x-gateway-provider')).toBe('openai');
    expect(res.headers.get('x-gateway-model')).toBe('gpt-test');
    expect(res.headers.get('x-gateway-attempts')).toBe('2');
    const id = res.headers.get('x-request-id')!;
    const row = await logRow(id);
    expect(row).toMatchObject({ status: 200, error_code: null, attempts: 2, provider: 'openai', upstream_model: 'gpt-test', model: alias });
    const seen = await upstreamSaw(id);
    expect(seen.map((r) => `${r.path} ${String(r.body.model)}`)).toEqual(upstreamCalls);
    return elapsed;
  }

  it('moves on from a 500 to the second target', async () => {
    await servedBySecond('failover-500', ['/compat/v1/chat/completions fault-500', '/openai/v1/chat/completions gpt-test']);
  });

  it('moves on from a refused connection to the second target', async () => {
    await servedBySecond('failover-refused', ['/openai/v1/chat/completions gpt-test']);
  });

  it('moves on from a hang after the 400 ms first-byte timeout', async () => {
    const elapsed = await servedBySecond('failover-hang', [
      '/quick/v1/chat/completions fault-hang',
      '/openai/v1/chat/completions gpt-test',
    ]);
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(2000);
  });

  it('fails over a stream before its first byte too', async () => {
    const res = await chat('failover-500', { stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-gateway-attempts')).toBe('2');
    await res.text();
    expect(await logRow(res.headers.get('x-request-id')!)).toMatchObject({ status: 200, attempts: 2, provider: 'openai', stream: 1 });
  });

  it('does not fail over on a 400 the caller caused: the second target is never called', async () => {
    const { id, row } = await expectError(await chat('no-failover-400'), {
      status: 400, code: 'upstream_rejected', param: 'messages',
    });
    expect(row).toMatchObject({ attempts: 1, provider: 'fixture', upstream_model: 'fault-400' });
    const seen = await upstreamSaw(id);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.path).toBe('/compat/v1/chat/completions');
    expect(seen[0]!.body.model).toBe('fault-400');
  });
});
