import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load';
import { type ErrorBody, seenBy, weather } from './support/gemini';
import { GEMINI_REVOKED_KEY } from './support/gemini-config';
import { client, logRow, postJson, sseData, upstreamSaw } from './support/gateway';

/**
 * The `gemini` provider's failures (src/providers/gemini/): what it refuses before
 * calling Gemini, Google's errors as the client sees them, broken streams, and its
 * config. The working paths: provider-gemini.test.ts.
 */

describe('gemini: errors', () => {
  it('refuses legacy completions with 400 unsupported_endpoint', async () => {
    const error = await client().completions.create({ model: 'gemini/gemini-2.5-flash', prompt: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('unsupported_endpoint');
  });

  it('refuses what Gemini cannot express with a 400 naming the field, and calls nobody', async () => {
    const user = { role: 'user', content: 'x' };
    const cases: [Record<string, unknown>, string][] = [
      [{ messages: [user], logprobs: true }, 'logprobs'],
      [{ messages: [user], n: 2, stream: true }, 'n'],
      [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat' } }] }] }, 'messages[0].content[0].image_url.url'],
      [{ messages: [user, { role: 'tool', tool_call_id: 'call_9', content: 'late' }] }, 'messages[1].tool_call_id'],
      [{ messages: [user, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] }, 'messages[1].tool_calls[0].function.arguments'],
      [{ messages: [user], tools: [weather], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice.function.name'],
      [{ messages: [{ role: 'system', content: 'only rules' }] }, 'messages'],
    ];
    for (const [body, param] of cases) {
      const res = await postJson('/v1/chat/completions', { model: 'gemini/gemini-2.5-flash', ...body });
      expect([res.status, ((await res.json()) as ErrorBody).error.param]).toEqual([400, param]);
      expect(await upstreamSaw(res.headers.get('x-request-id')!)).toEqual([]);
    }
  });

  it('keeps a caller\'s model id inside {base}/models/', async () => {
    for (const model of ['gemini/../../admin', 'gemini/x?key=1', 'gemini/%2e%2e']) {
      const res = await postJson('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'x' }] });
      expect([res.status, ((await res.json()) as ErrorBody).error.param]).toEqual([400, 'model']);
    }
  });

  it('passes RESOURCE_EXHAUSTED on as a 429 with the RetryInfo delay as retry-after', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'gemini/fault-429', messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after-ms')).toBe('2000');
    expect(res.headers.get('retry-after')).toBe('2');
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('upstream_rate_limited');
    expect(body.error.message).toContain('(RESOURCE_EXHAUSTED): You exceeded your current quota');
    expect(body.error.message).not.toContain('https://');
  });

  it('fails over from an overloaded (503 UNAVAILABLE) Gemini to the next target', async () => {
    const { data, response } = await client().chat.completions.create({ model: 'gemini-then-openai', messages: [{ role: 'user', content: 'hello' }] }).withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: hello');
    expect(response.headers.get('x-gateway-provider')).toBe('openai');
    expect(await logRow(response.headers.get('x-request-id')!)).toMatchObject({ status: 200, attempts: 2 });
  });

  it('answers 502 for INTERNAL, the message scrubbed of URLs', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'gemini/fault-500', messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(502);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('upstream_failed');
    expect(body.error.message).toBe('Provider "gemini" answered 500 (INTERNAL): An internal error has occurred. Please retry or report in [url]');
  });

  it('passes NOT_FOUND (an unknown model) on as a 404', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'gemini/gemini-9-ultra', messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(404);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('upstream_rejected');
    expect(body.error.message).toContain('(NOT_FOUND): models/gemini-9-ultra is not found');
  });

  it('reports a revoked key (400 API_KEY_INVALID) as the gateway\'s credential, never the caller\'s 400, and never echoes it', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'gemini-revoked/gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(502);
    const text = await res.text();
    expect((JSON.parse(text) as ErrorBody).error.code).toBe('upstream_credential_rejected');
    expect(text).not.toContain(GEMINI_REVOKED_KEY);
    const seen = await seenBy(res.headers.get('x-request-id')!);
    expect(seen.headers['x-goog-api-key']).toBe(GEMINI_REVOKED_KEY);
    expect(seen.query).toEqual({});
  });
});

describe('gemini: broken streams', () => {
  it('ends a stream that closed before its finishReason with an error event, never [DONE]', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'gemini/fault-cut', messages: [{ role: 'user', content: 'a b c d' }], stream: true });
    const events = await sseData(res);
    expect(events).not.toContain('[DONE]');
    const text = events.slice(0, -1).map((e) => (JSON.parse(e) as { choices: { delta: { content?: string } }[] }).choices[0]!.delta.content ?? '').join('');
    expect(text).toBe('Gemini heard: ');
    expect(JSON.parse(events.at(-1)!)).toMatchObject({ error: { code: 'stream_cut' } });
    expect(await logRow(res.headers.get('x-request-id')!)).toMatchObject({ stream: 1, stream_cut: 1, error_code: 'stream_cut' });

    const stream = await client().chat.completions.create({ model: 'gemini/fault-cut', messages: [{ role: 'user', content: 'a b c d' }], stream: true });
    await expect((async () => { for await (const chunk of stream) void chunk; })()).rejects.toThrow();
  });

  it('treats an error event before any data as a failed attempt: 502 alone, the next target with failover', async () => {
    const alone = await postJson('/v1/chat/completions', { model: 'gemini/fault-error-first', messages: [{ role: 'user', content: 'x' }], stream: true });
    expect(alone.status).toBe(502);
    const body = (await alone.json()) as ErrorBody;
    expect(body.error.code).toBe('upstream_failed');
    expect(body.error.message).toContain('(UNAVAILABLE)');

    const { data: stream, response } = await client()
      .chat.completions.create({ model: 'gemini-stream-error-then-openai', messages: [{ role: 'user', content: 'hello' }], stream: true })
      .withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: hello');
    expect(response.headers.get('x-gateway-provider')).toBe('openai');
    expect(await logRow(response.headers.get('x-request-id')!)).toMatchObject({ status: 200, attempts: 2 });
  });
});

describe('gemini: config', () => {
  const config = (gemini: object) => ({ providers: { g: { kind: 'gemini', ...gemini } }, keys: { k: { secrets: ['K'] } } });

  it('takes the default base URL, and refuses a private one unless allowed, and unknown fields', () => {
    expect(parseConfig(config({ api_key_secret: 'GEMINI_API_KEY' }))).toMatchObject({ ok: true });
    expect(parseConfig(config({ base_url: 'http://10.0.0.5/v1beta' }))).toMatchObject({ ok: false, field: 'GATEWAY_CONFIG.providers.g.base_url' });
    expect(parseConfig(config({ base_url: 'http://10.0.0.5/v1beta', allow_private_network: true }))).toMatchObject({ ok: true });
    expect(parseConfig(config({ headers: { a: 'b' } }))).toMatchObject({ ok: false, field: 'GATEWAY_CONFIG.providers.g.headers' });
    expect(parseConfig(config({ safety_settings: [{ category: 'HARM_CATEGORY_HARASSMENT' }] }))).toMatchObject({ ok: false, field: 'GATEWAY_CONFIG.providers.g.safety_settings[0].threshold' });
  });
});
