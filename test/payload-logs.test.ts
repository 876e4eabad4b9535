import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load';
import { newCallRecord } from '../src/logging/call-record';
import { PayloadCapture } from '../src/logging/payload-capture';
import { payloadDocument } from '../src/logging/payload-log';
import { KEYS, PROVIDER_SECRETS } from './support/constants';
import { PT_CHAT_STREAM } from './fixtures/native/passthrough-replies';
import { BASE, client, gateway, inWorker, logRow, postJson, sseData, testEnv, upstreamSaw } from './support/gateway';
import { PT_CREDENTIALS, PT_KEYS } from './support/passthrough-config';
import { testGatewayConfig } from './support/test-config';

const PAYLOADS_KEY = 'sk-gw-payloads-0123456789';
const TENANT_KEY = 'sk-tenant-x1';
const bucket = () => testEnv.PAYLOADS!;

interface PayloadDoc {
  request_id: string;
  ts: string;
  key_id: string | null;
  endpoint: string;
  model: string | null;
  provider: string | null;
  upstream_model: string | null;
  stream: boolean;
  status: number;
  error_code: string | null;
  cache_status: string | null;
  metadata: Record<string, unknown> | null;
  truncated: boolean;
  request: unknown;
  response: unknown;
}

function keyOf(requestId: string, ts: string): string {
  return `${ts.slice(0, 10)}/${requestId}.json`;
}

/** The call's payload object; written in waitUntil after the call's row, so this waits for both. */
async function payloadOf(requestId: string): Promise<{ doc: PayloadDoc; text: string; key: string }> {
  const row = await logRow(requestId);
  const key = keyOf(requestId, row.ts);
  for (let i = 0; i < 100; i++) {
    const object = await bucket().get(key);
    if (object) {
      const text = await object.text();
      return { doc: JSON.parse(text) as PayloadDoc, text, key };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no payload object ${key}`);
}

/**
 * Up to 8,000 chars of every kind JSON and UTF-8 size differently (plain, escaped, control,
 * 2-, 3- and 4-byte, lone surrogates), built from short strings: cheap to generate.
 */
const CHARS = fc.constantFrom('a', ' ', '"', '\\', '\n', '\u0001', 'é', '東', '😀', '\ud800', '\udc00');
const longText = () => fc.tuple(fc.string({ unit: CHARS, maxLength: 80 }), fc.integer({ min: 1, max: 100 })).map(([piece, times]) => piece.repeat(times));

const unique = (label: string) => `${label} ${crypto.randomUUID()}`;

describe('payload logs', () => {
  it('store the request and the answer of a key that logs payloads, as the client sent and got them', async () => {
    const body = { model: 'gpt-test', messages: [{ role: 'user' as const, content: unique('store me') }], temperature: 0.5 };
    const tagged = client(PAYLOADS_KEY).withOptions({ defaultHeaders: { 'x-gateway-metadata': '{"user":"u-1"}' } });
    const { data, response } = await tagged.chat.completions.create(body).withResponse();
    const id = response.headers.get('x-request-id')!;
    const { doc, key } = await payloadOf(id);
    const row = await logRow(id);
    expect(key).toMatch(/^\d{4}-\d{2}-\d{2}\/req_[0-9a-f]{32}\.json$/);
    expect(doc).toEqual({
      request_id: id,
      ts: row.ts,
      key_id: 'payloads',
      endpoint: 'chat.completions',
      model: 'gpt-test',
      provider: 'openai',
      upstream_model: 'gpt-test',
      stream: false,
      status: 200,
      error_code: null,
      cache_status: null,
      metadata: { user: 'u-1' },
      truncated: false,
      request: body,
      response: JSON.parse(JSON.stringify(data)),
    });
    expect((await upstreamSaw(id))[0]!.body).toEqual(body);
    const object = await bucket().head(key);
    expect(object?.httpMetadata?.contentType).toBe('application/json');
  });

  it('assemble a streamed answer, for a model alias that logs payloads whatever the key', async () => {
    const content = unique('stream me');
    const stream = await client().chat.completions.create({ model: 'logged-chat', messages: [{ role: 'user', content }], stream: true }).withResponse();
    let text = '';
    for await (const chunk of stream.data) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(`echo: ${content}`);
    const { doc } = await payloadOf(stream.response.headers.get('x-request-id')!);
    expect(doc).toMatchObject({ key_id: 'team-a', model: 'logged-chat', stream: true, status: 200, truncated: false });
    expect(doc.request).toEqual({ model: 'logged-chat', messages: [{ role: 'user', content }], stream: true });
    expect(doc.response).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-test',
      choices: [{ index: 0, message: { role: 'assistant', content: `echo: ${content}`, refusal: null }, finish_reason: 'stop' }],
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) },
    });
  });

  it('store a call of another API (Anthropic Messages) in the gateway\'s internal OpenAI shape', async () => {
    const content = unique('messages');
    const res = await postJson('/v1/messages', { model: 'gpt-test', max_tokens: 50, system: 'Be brief.', messages: [{ role: 'user', content }] }, null, {
      'x-api-key': PAYLOADS_KEY,
      'anthropic-version': '2023-06-01',
    });
    expect(await res.json()).toMatchObject({ type: 'message', content: [{ type: 'text', text: `echo: ${content}` }] });
    const id = res.headers.get('x-request-id')!;
    const { doc } = await payloadOf(id);
    expect(doc).toMatchObject({ endpoint: 'messages', key_id: 'payloads', status: 200 });
    // What went upstream, and what the pipeline answered before the Messages format re-shaped it.
    expect(doc.request).toEqual((await upstreamSaw(id))[0]!.body);
    expect(doc.response).toMatchObject({ object: 'chat.completion', choices: [{ message: { content: `echo: ${content}` } }] });
  });

  it('store the cached answer of a cache hit', async () => {
    const body = { model: 'logged-cached', messages: [{ role: 'user', content: unique('cache me') }], temperature: 0 };
    const first = await postJson('/v1/chat/completions', body);
    const answer = await first.json();
    let hit: Response | undefined;
    for (let i = 0; i < 50 && !hit; i++) {
      const res = await postJson('/v1/chat/completions', body);
      if (res.headers.get('x-gateway-cache') === 'HIT') hit = res;
      else await res.text();
    }
    expect(await hit!.json()).toEqual(answer);
    const { doc } = await payloadOf(hit!.headers.get('x-request-id')!);
    expect(doc).toMatchObject({ cache_status: 'HIT', status: 200, request: body, response: answer });
    expect(await upstreamSaw(hit!.headers.get('x-request-id')!)).toEqual([]);
  });

  it('store the request and no answer for a stream cut before its end', async () => {
    const content = unique('cut me');
    const res = await postJson('/v1/chat/completions', { model: 'logged-cut', messages: [{ role: 'user', content }], stream: true });
    const events = await sseData(res);
    expect(JSON.parse(events.at(-1)!)).toMatchObject({ error: { code: 'stream_cut' } });
    const { doc } = await payloadOf(res.headers.get('x-request-id')!);
    expect(doc).toMatchObject({ status: 200, error_code: 'stream_cut', response: null });
    expect(doc.request).toEqual({ model: 'logged-cut', messages: [{ role: 'user', content }], stream: true });
  });

  it('redact credentials, configured secrets and operator patterns from the request and the answer before writing', async () => {
    const secrets = [
      'sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123',
      'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx',
      'AIzaSyA1234567890abcdefghijklmnopqrstuv',
      'gsk_abcdefghijklmnopqrstuvwxyz012345',
      'AKIAIOSFODNN7EXAMPLE',
      'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      PROVIDER_SECRETS.HF_TOKEN, // no token shape: redacted as a secret the config names
      TENANT_KEY, // a caller key, too short for the sk- shape
      'ticket-123456', // log.redact_patterns
    ];
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq\nabc+/=\n-----END RSA PRIVATE KEY-----';
    const content = `${unique('leak')} ${secrets.join(' and ')} Authorization: Bearer abc.def-ghi_123456 then ${pem} end`;
    const { data, response } = await client(PAYLOADS_KEY)
      .chat.completions.create({ model: 'gpt-test', messages: [{ role: 'system', content: 'keep ticket-654321' }, { role: 'user', content }] })
      .withResponse();
    // The client's answer is the provider's, untouched: redaction is for what is stored.
    expect(data.choices[0]!.message.content).toBe(`echo: ${content}`);
    const { doc, text } = await payloadOf(response.headers.get('x-request-id')!);
    for (const secret of [...secrets, 'ticket-654321', 'abc.def-ghi_123456', 'MIIEowIBAAKCAQEA7bq']) expect(text).not.toContain(secret);
    const stored = (doc.request as { messages: { content: string }[] }).messages;
    expect(stored[0]!.content).toBe('keep [redacted]');
    expect(stored[1]!.content).toBe(
      `${content.split(' ').slice(0, 2).join(' ')} ${secrets.map(() => '[redacted]').join(' and ')} Authorization: [redacted] then [redacted] end`,
    );
    expect((doc.response as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe(`echo: ${stored[1]!.content}`);
  });

  it('truncate a document over log.payload_max_bytes, keeping its fields, with a marker', async () => {
    const content = `${unique('big')} ${'lorem ipsum "quoted" é '.repeat(1500)}`;
    const res = await postJson('/v1/chat/completions', { model: 'gpt-test', messages: [{ role: 'user', content }] }, PAYLOADS_KEY);
    expect(res.status).toBe(200);
    const { doc, text } = await payloadOf(res.headers.get('x-request-id')!);
    expect(new TextEncoder().encode(text).length).toBeLessThanOrEqual(16_384);
    expect(new TextEncoder().encode(text).length).toBeGreaterThan(15_000);
    expect(doc).toMatchObject({ truncated: true, status: 200, key_id: 'payloads', model: 'gpt-test' });
    expect(doc.request).toEqual(expect.stringMatching(/^\{"model":"gpt-test","messages":\[\{"role":"user","content":"big .*…\[truncated: \d+ bytes\]$/s));
    expect(doc.response).toEqual(expect.stringMatching(/^\{"id":"chatcmpl-fx-.*…\[truncated: \d+ bytes\]$/s));
  });

  it('keep any document within the cap, as valid JSON, whatever the sizes and characters', () => {
    fc.assert(
      fc.property(longText(), longText(), fc.integer({ min: 4096, max: 9000 }), (a, b, cap) => {
        const record = { ...newCallRecord('req_0123456789abcdef0123456789abcdef', 'chat.completions'), model: 'm', status: 200 };
        record.payload = new PayloadCapture({ model: 'm', messages: [{ role: 'user', content: a }] });
        record.payload.answered({ choices: [{ message: { content: b } }] });
        const text = payloadDocument(record, (s) => s, cap);
        const doc = JSON.parse(text) as PayloadDoc;
        const size = new TextEncoder().encode(text).length;
        expect(size).toBeLessThanOrEqual(cap);
        // A cut fills the cap to within a character or two of each side.
        if (doc.truncated) expect(size).toBeGreaterThan(cap - 16);
        else expect(doc.request).toEqual(record.payload.request);
      }),
      { numRuns: 100 },
    );
  });

  it('store a passthrough call as the provider saw and answered it: JSON, a stream as its text, an error redacted', async () => {
    const send = (path: string, body: string, contentType = 'application/json') =>
      gateway(path, { method: 'POST', headers: { authorization: `Bearer ${PT_KEYS['pt-payloads']}`, 'content-type': contentType }, body });
    const chat = { model: 'gpt-pt', messages: [{ role: 'user', content: unique('native') }] };
    const json = await send('/pt-openai/v1/chat/completions', JSON.stringify(chat));
    expect(json.status).toBe(200);
    const answer = await json.json();
    const { doc } = await payloadOf(json.headers.get('x-request-id')!);
    expect(doc).toMatchObject({ key_id: 'pt-payloads', provider: 'pt-openai', stream: false, status: 200, request: chat, response: answer });

    const streamed = await send('/pt-openai/v1/chat/completions', JSON.stringify({ ...chat, stream: true }));
    expect(await streamed.text()).toBe(PT_CHAT_STREAM);
    expect((await payloadOf(streamed.headers.get('x-request-id')!)).doc).toMatchObject({ stream: true, response: { stream: PT_CHAT_STREAM } });

    // The fixture quotes the credential it was sent: neither the client nor the log gets it.
    const refused = await send('/pt-openai/v1/error-400', JSON.stringify(chat));
    expect(refused.status).toBe(400);
    const { doc: error, text } = await payloadOf(refused.headers.get('x-request-id')!);
    expect(text).not.toContain(PT_CREDENTIALS.PT_OPENAI_KEY);
    expect(error).toMatchObject({ status: 400, request: chat, response: expect.any(Object) });

    // A body the gateway does not read is named by type and size.
    const upload = await send('/pt-openai/v1/files', 'raw bytes here', 'application/octet-stream');
    expect(upload.status).toBe(200);
    expect((await payloadOf(upload.headers.get('x-request-id')!)).doc.request).toEqual({ content_type: 'application/octet-stream', bytes: 14 });
  });

  it('store nothing for keys and models that do not log payloads (the default)', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'gpt-test', messages: [{ role: 'user', content: unique('private') }] });
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id')!;
    const row = await logRow(id);
    // The logged call's own payload (written after its row) shows the writes have happened.
    const logged = await postJson('/v1/chat/completions', { model: 'logged-chat', messages: [{ role: 'user', content: unique('after') }] });
    await payloadOf(logged.headers.get('x-request-id')!);
    expect(await bucket().head(keyOf(id, row.ts))).toBeNull();
    const listed = await bucket().list({ prefix: row.ts.slice(0, 10) });
    expect(listed.objects.map((o) => o.key).filter((k) => k.includes(id))).toEqual([]);
  });

  it('never fail the call when R2 fails: the loss is reported on the console', async () => {
    const broken = { put: async () => Promise.reject(new Error('R2 is down')) } as unknown as R2Bucket;
    const errors: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args.join(' '));
    try {
      const request = new Request(`${BASE}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PAYLOADS_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'r2 down' }] }),
      });
      const { res, answer } = await inWorker({ PAYLOADS: broken }, async (fetch) => {
        const res = await fetch(request);
        return { res, answer: await res.json() };
      });
      expect(res.status).toBe(200);
      expect(answer).toMatchObject({ choices: [{ message: { content: 'echo: r2 down' } }] });
      const id = res.headers.get('x-request-id')!;
      expect(errors).toEqual([`payload log: request ${id} not stored: Error: R2 is down`]);
      expect(await logRow(id)).toMatchObject({ status: 200, key_id: 'payloads' });
    } finally {
      console.error = original;
    }
  });

  it('refuse a redaction pattern that does not compile or matches nothing but the empty string', () => {
    const config = testGatewayConfig(1);
    const withPatterns = (redact_patterns: string[]) => parseConfig({ ...config, log: { ...config.log, redact_patterns } });
    expect(withPatterns(['ticket-[0-9]{6}', '\\bSSN:\\s*\\d+']).ok).toBe(true);
    expect(withPatterns(['ticket-[0-9'])).toMatchObject({ ok: false, field: 'GATEWAY_CONFIG.log.redact_patterns[0]' });
    expect(withPatterns(['x*'])).toMatchObject({ ok: false, error: expect.stringContaining('does not match the empty string') });
    expect(withPatterns(['a'.repeat(257)]).ok).toBe(false);
  });

  it('are answered normally for the caller, with the same headers as any call', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'logged-chat', messages: [{ role: 'user', content: 'headers' }] }, KEYS.teamA);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-provider')).toBe('openai');
    expect(await res.json()).toMatchObject({ choices: [{ message: { content: 'echo: headers' } }] });
  });
});
