import { exports } from 'cloudflare:workers';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { checkPath, forwardedQuery, upstreamUrl } from '../src/passthrough/path';
import {
  PT_ANSWER_HEADERS,
  PT_CHAT_STREAM,
  PT_IMAGE_USAGE,
  PT_MESSAGES_STREAM,
  PT_STREAM_SPLITS,
} from './fixtures/native/passthrough-replies';
import { BASE, gateway, logRow, rowCount, upstreamSaw, upstreamSawHangUp, type RecordedRequest } from './support/gateway';
import { PT_CREDENTIALS, PT_KEYS } from './support/passthrough-config';

/**
 * Provider-native passthrough (`/{provider}/…`, src/passthrough/): raw HTTP through
 * the Worker, or the openai client pointed at a provider's passthrough root, against
 * the fixture upstream (test/fixtures/native/passthrough.ts), which records what it got.
 */

const ALL = PT_KEYS['pt-all'];
const worker = (exports as unknown as { default: Fetcher }).default;
const encoder = new TextEncoder();

function send(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}, key: string | null = ALL): Promise<Response> {
  const headers: Record<string, string> = { ...(key ? { authorization: `Bearer ${key}` } : {}), ...init.headers };
  if (init.body !== undefined) headers['content-type'] ??= 'application/json';
  return gateway(path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
  });
}

const idOf = (res: Response) => res.headers.get('x-request-id')!;

async function onlyRequest(res: Response): Promise<RecordedRequest> {
  const seen = await upstreamSaw(idOf(res));
  expect(seen).toHaveLength(1);
  return seen[0]!;
}

/** An OpenAI-shaped error with this status and code; the body returned. */
async function expectGatewayError(res: Response, status: number, code: string, param: string | null = null): Promise<{ message: string }> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { message: string; type: string; code: string; param: unknown } };
  expect(body.error).toMatchObject({ code, param });
  expect(typeof body.error.type).toBe('string');
  return body.error;
}

const chat = { model: 'gpt-pt', messages: [{ role: 'user', content: 'hi' }] };

describe('forwarding', () => {
  it('forwards an openai client call with the provider credential, not the caller key, and logs its usage', async () => {
    const openai = new OpenAI({
      apiKey: ALL,
      baseURL: `${BASE}/pt-openai/v1`,
      maxRetries: 0,
      fetch: (input, init) => worker.fetch(new Request(input as RequestInfo, init as RequestInit)),
    });
    const { data: image, response } = await openai.images.generate({ model: 'gpt-image-1', prompt: 'a fox' }).withResponse();
    expect(image.data?.[0]?.b64_json).toBe('iVBORw0KGgo=');
    expect(image.usage).toEqual(PT_IMAGE_USAGE);

    const id = idOf(response);
    const [seen] = await upstreamSaw(id);
    expect(seen).toMatchObject({ method: 'POST', path: '/pt/openai/v1/images/generations', body: { model: 'gpt-image-1', prompt: 'a fox' } });
    expect(seen!.headers.authorization).toBe(`Bearer ${PT_CREDENTIALS.PT_OPENAI_KEY}`);
    expect(seen!.headers['openai-organization']).toBe('org-pt');
    expect(seen!.headers['x-request-id']).toBe(id);
    expect(JSON.stringify(seen!.headers)).not.toContain(ALL);

    // The provider's useful headers come back; cookies and host-level ones do not.
    const headers = response.headers;
    expect(headers.get('x-ratelimit-remaining-requests')).toBe(PT_ANSWER_HEADERS['x-ratelimit-remaining-requests']);
    expect(headers.get('openai-processing-ms')).toBe('7');
    expect(headers.get('retry-after')).toBe('3');
    expect(headers.get('x-upstream-request-id')).toBe('req_upstream_123');
    expect(id).toMatch(/^req_[0-9a-f]{32}$/);
    for (const name of ['set-cookie', 'alt-svc', 'access-control-allow-origin']) expect(headers.get(name)).toBeNull();

    expect(await logRow(id)).toMatchObject({
      endpoint: 'passthrough:/v1/images/generations', key_id: 'pt-all', provider: 'pt-openai', model: 'pt-openai/gpt-image-1',
      upstream_model: 'gpt-image-1', status: 200, stream: 0, prompt_tokens: 12, completion_tokens: 34, attempts: 1, cache_status: null, error_code: null,
    });
  });

  it.each(['x-api-key', 'x-goog-api-key'])('takes the caller key as %s and strips every credential and hop-by-hop header', async (header) => {
    const res = await send('/pt-compat/v1/messages', {
      body: { model: 'claude-pt', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] },
      headers: {
        [header]: ALL,
        'anthropic-version': '2023-06-01',
        'anthropic-beta': 'tools-2024-04-04',
        cookie: 'session=caller',
        'api-key': 'caller-azure-key',
        // Another SDK's header beside it (x-api-key would be read first, so only after it).
        ...(header === 'x-api-key' ? { 'x-goog-api-key': 'caller-google-key' } : {}),
        'proxy-authorization': 'Basic Y2FsbGVyOnNlY3JldA==',
        connection: 'keep-alive, x-hop',
        'x-hop': 'per-connection',
        'x-forwarded-for': '203.0.113.9',
        'x-gateway-chaos': '500',
      },
    }, null);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { content: unknown[] }).content).toHaveLength(1);
    const seen = await onlyRequest(res);
    expect(seen.headers.authorization).toBe(`Bearer ${PT_CREDENTIALS.PT_COMPAT_KEY}`);
    expect(seen.headers['anthropic-version']).toBe('2023-06-01');
    expect(seen.headers['anthropic-beta']).toBe('tools-2024-04-04');
    for (const name of ['x-api-key', 'x-goog-api-key', 'api-key', 'cookie', 'proxy-authorization', 'x-hop', 'x-forwarded-for', 'x-gateway-chaos', 'cf-connecting-ip']) {
      expect(seen.headers[name], name).toBeUndefined();
    }
    expect(JSON.stringify(seen.headers)).not.toContain(ALL);
    // Anthropic's usage shape: cache reads are prompt tokens too.
    expect(await logRow(idOf(res))).toMatchObject({ endpoint: 'passthrough:/v1/messages', key_id: 'pt-all', prompt_tokens: 25, completion_tokens: 9 });
  });

  it('forwards the method, path and query as sent, minus a query parameter carrying the caller key', async () => {
    const list = await send(`/pt-hf/v1/models?limit=2&key=${ALL}&q=a%20b+c`, { headers: { 'x-goog-api-key': ALL } }, null);
    expect(list.status).toBe(200);
    expect(await list.json()).toMatchObject({ echo: true, method: 'GET', path: '/pt/hf/v1/models', query: '?limit=2&q=a%20b+c' });
    expect((await onlyRequest(list)).headers.authorization).toBe(`Bearer ${PT_CREDENTIALS.PT_HF_TOKEN}`);

    const head = await send('/pt-openai/v1/files', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect((await onlyRequest(head)).method).toBe('HEAD');

    const removal = await send('/pt-openai/v1/files/file-123', { method: 'DELETE' });
    expect(await removal.json()).toMatchObject({ method: 'DELETE', path: '/pt/openai/v1/files/file-123' });
    expect(await logRow(idOf(removal))).toMatchObject({ endpoint: 'passthrough:/v1/files/file-123', upstream_model: '*', prompt_tokens: null });
  });

  it('relays an OpenAI stream byte for byte and logs the usage in its last chunk', async () => {
    expect(PT_STREAM_SPLITS.length).toBeGreaterThan(2);
    const res = await send('/pt-openai/v1/chat/completions', { body: { ...chat, stream: true } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(encoder.encode(PT_CHAT_STREAM));
    expect(await logRow(idOf(res))).toMatchObject({ stream: 1, status: 200, stream_cut: 0, prompt_tokens: 11, completion_tokens: 4, provider: 'pt-openai' });
    expect(await rowCount(idOf(res))).toBe(1);
  });

  it('stops the upstream when the client leaves mid-stream, and logs the call once as 499', async () => {
    const res = await send('/pt-openai/drip');
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('tick 0');
    await reader.cancel();
    expect(await upstreamSawHangUp(idOf(res))).toBe(true);
    expect(await logRow(idOf(res))).toMatchObject({ status: 499, error_code: 'client_closed', stream_cut: 1, stream: 1 });
    expect(await rowCount(idOf(res))).toBe(1);
  });

  it('relays an Anthropic stream unchanged and adds up its usage events', async () => {
    const res = await send('/pt-compat/v1/messages', { body: { model: 'claude-pt', max_tokens: 20, stream: true, messages: [] }, headers: { 'x-api-key': ALL } }, null);
    expect(await res.text()).toBe(PT_MESSAGES_STREAM);
    expect(await logRow(idOf(res))).toMatchObject({ stream: 1, prompt_tokens: 25, completion_tokens: 9 });
  });

  it('reaches Anthropic with its own header and version, for apps on the Anthropic SDK', async () => {
    const body = { model: 'claude-pt', max_tokens: 20, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral' } }] }] };
    const res = await send('/pt-anthropic/v1/messages', { body, headers: { 'x-api-key': ALL } }, null);
    expect(res.status).toBe(200);
    const seen = await onlyRequest(res);
    expect(seen.path).toBe('/pt/anthropic/v1/messages');
    expect(seen.headers['x-api-key']).toBe(PT_CREDENTIALS.PT_ANTHROPIC_KEY);
    expect(seen.headers['anthropic-version']).toBe('2023-06-01');
    expect(seen.headers.authorization).toBeUndefined();
    // Unread: what the gateway's translation would drop (prompt caching) arrives as sent.
    expect(seen.body).toEqual(body);
    expect(await logRow(idOf(res))).toMatchObject({ provider: 'pt-anthropic', prompt_tokens: 25, completion_tokens: 9, cached_tokens: 4 });
  });

  it("keeps the caller's anthropic-version when it sends one", async () => {
    const res = await send('/pt-anthropic/v1/messages', { body: { model: 'claude-pt', max_tokens: 5, messages: [] }, headers: { 'x-api-key': ALL, 'anthropic-version': '2024-01-01' } }, null);
    expect((await onlyRequest(res)).headers['anthropic-version']).toBe('2024-01-01');
  });

  it('reaches Gemini with the key in its header only, and reads usageMetadata', async () => {
    const res = await send('/pt-gemini/v1beta/models/gemini-pt:generateContent', { body: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }, headers: { 'x-goog-api-key': ALL } }, null);
    expect(res.status).toBe(200);
    const seen = await onlyRequest(res);
    expect(seen.path).toBe('/pt/gemini/v1beta/models/gemini-pt:generateContent');
    expect(seen.headers['x-goog-api-key']).toBe(PT_CREDENTIALS.PT_GEMINI_KEY);
    expect(JSON.stringify(seen)).not.toContain(ALL);
    expect(await logRow(idOf(res))).toMatchObject({ provider: 'pt-gemini', prompt_tokens: 12, completion_tokens: 8, cached_tokens: 4 });
  });

  it("reaches an Azure resource's own API with its api-key header", async () => {
    const res = await send('/pt-azure/openai/deployments/d1/chat/completions?api-version=2024-10-21', { body: { messages: [{ role: 'user', content: 'hi' }] } });
    expect(res.status).toBe(200);
    const seen = await onlyRequest(res);
    expect(seen.path).toBe('/pt/azure/openai/deployments/d1/chat/completions');
    expect(seen.headers['api-key']).toBe(PT_CREDENTIALS.PT_AZURE_KEY);
    expect(seen.headers.authorization).toBeUndefined();
    expect(await logRow(idOf(res))).toMatchObject({ provider: 'pt-azure', prompt_tokens: 7, completion_tokens: 3 });
  });

  it('forwards a multipart body byte for byte', async () => {
    const form = new FormData();
    form.append('model', 'whisper-1');
    form.append('file', new Blob(['RIFF-not-really-audio'], { type: 'audio/wav' }), 'a.wav');
    const request = new Request('http://x/', { method: 'POST', body: form });
    const contentType = request.headers.get('content-type')!;
    const bytes = await request.text();
    const res = await send('/pt-openai/v1/audio/transcriptions', { body: bytes, headers: { 'content-type': contentType } });
    expect(res.status).toBe(200);
    const seen = await onlyRequest(res);
    expect(seen.body).toBe(bytes);
    expect(seen.headers['content-type']).toBe(contentType);
  });

  it('sends no credential for a provider that has none', async () => {
    const res = await send('/pt-open/v1/models');
    expect(res.status).toBe(200);
    expect((await onlyRequest(res)).headers.authorization).toBeUndefined();
  });

  it('caches nothing: the same call twice reaches the provider twice', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await send('/pt-openai/v1/chat/completions', { body: chat });
      expect(res.status).toBe(200);
      await onlyRequest(res);
      expect((await logRow(idOf(res))).cache_status).toBeNull();
    }
  });
});

describe('who may call', () => {
  it('refuses a key whose passthrough list does not name the provider, before any upstream call', async () => {
    const none = await send('/pt-openai/v1/models', {}, PT_KEYS['pt-none']);
    await expectGatewayError(none, 403, 'passthrough_not_allowed');
    expect(await upstreamSaw(idOf(none))).toEqual([]);
    expect(await logRow(idOf(none))).toMatchObject({ status: 403, key_id: 'pt-none', error_code: 'passthrough_not_allowed', endpoint: 'passthrough:/v1/models' });

    const other = await send('/pt-compat/v1/models', {}, PT_KEYS['pt-openai-only']);
    await expectGatewayError(other, 403, 'passthrough_not_allowed');
    expect(await upstreamSaw(idOf(other))).toEqual([]);
    expect((await send('/pt-openai/v1/models', {}, PT_KEYS['pt-openai-only'])).status).toBe(200);
  });

  it('asks for a key, and refuses a wrong one', async () => {
    await expectGatewayError(await send('/pt-openai/v1/models', {}, null), 401, 'missing_api_key');
    await expectGatewayError(await send('/pt-openai/v1/models', { headers: { 'x-api-key': 'sk-gw-wrong-0123456789abcdef' } }, null), 401, 'invalid_api_key');
  });

  it.each([
    ['an unknown provider', '/no-such-provider/v1/models'],
    ['a kind without passthrough', '/pt-demo/v1/models'],
    ['a provider name and no path', '/pt-openai'],
    ['a provider name and only a slash', '/pt-openai/'],
  ])('answers 404 for %s', async (_, path) => {
    const res = await send(path);
    const error = await expectGatewayError(res, 404, 'unknown_url');
    if (path.startsWith('/pt-demo')) expect(error.message).toContain('no native passthrough');
    expect(await upstreamSaw(idOf(res))).toEqual([]);
  });
});

describe('limits', () => {
  it('counts passthrough calls against the key: 429 past its quota, without reaching the provider', async () => {
    const key = PT_KEYS['pt-limited'];
    for (let i = 0; i < 2; i++) {
      const res = await send('/pt-openai/v1/images/generations', { body: { model: 'gpt-image-1', prompt: 'x' } }, key);
      expect(res.status).toBe(200);
      // The key's own quota, not the provider's account-wide one.
      expect(res.headers.get('x-ratelimit-limit-requests')).toBe('2');
      expect(res.headers.get('x-ratelimit-remaining-requests')).toBe(String(1 - i));
    }
    const refused = await send('/pt-openai/v1/images/generations', { body: { model: 'gpt-image-1', prompt: 'x' } }, key);
    await expectGatewayError(refused, 429, 'rate_limit_exceeded');
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await upstreamSaw(idOf(refused))).toEqual([]);
    expect(await logRow(idOf(refused))).toMatchObject({ status: 429, error_code: 'rate_limit_exceeded' });
  });

  it("reserves tokens from the JSON body: an output cap over the key's tokens per minute is refused", async () => {
    const key = PT_KEYS['pt-tpm'];
    const big = await send('/pt-openai/v1/chat/completions', { body: { ...chat, max_tokens: 1000 } }, key);
    const error = await expectGatewayError(big, 429, 'rate_limit_exceeded');
    expect(error.message).toContain('tokens');
    expect(await upstreamSaw(idOf(big))).toEqual([]);
    expect((await send('/pt-openai/v1/chat/completions', { body: { ...chat, max_tokens: 5 } }, key)).status).toBe(200);
  });

  it('lets a budgeted key call priced models only, and charges the usage the provider reported', async () => {
    const key = PT_KEYS['pt-budget'];
    const unpriced = await send('/pt-openai/v1/chat/completions', { body: { ...chat, model: 'gpt-unpriced' } }, key);
    await expectGatewayError(unpriced, 403, 'model_not_priced', 'model');
    expect(await upstreamSaw(idOf(unpriced))).toEqual([]);

    const priced = await send('/pt-openai/v1/chat/completions', { body: chat }, key);
    expect(priced.status).toBe(200);
    // 7 prompt tokens at $1000/Mtok and 3 completion tokens at $2000/Mtok.
    expect((await logRow(idOf(priced))).cost_usd).toBeCloseTo(0.013, 9);
  });

  it('refuses a body over max_body_bytes with 413, before reaching the provider', async () => {
    const res = await send('/pt-openai/v1/chat/completions', { body: { ...chat, padding: 'x'.repeat(70 * 1024) } });
    await expectGatewayError(res, 413, 'request_too_large');
    expect(await upstreamSaw(idOf(res))).toEqual([]);
  });
});

describe('path safety', () => {
  // As a client would send them; the URL parser resolves `..` and `%2e%2e` segments
  // before the gateway sees the path, so some arrive as another (unknown) provider.
  it.each([
    ['an encoded slash after ..', '/pt-openai/v1/..%2f..%2fcompat/v1/models', 400],
    ['an encoded ../ in capitals', '/pt-openai/v1/%2E%2E%2Fadmin', 400],
    ['encoded backslashes', '/pt-openai/v1/%5c..%5cadmin', 400],
    ['a double-encoded ..', '/pt-openai/v1/%252e%252e/admin', 400],
    ['an encoded .. inside a segment', '/pt-openai/v1/%2e%2e.json', 400],
    ['an empty segment (//)', '/pt-openai//127.0.0.1:9/v1/models', 400],
    ['an absolute URL', '/pt-openai/http://127.0.0.1:9/v1/models', 400],
    ['an absolute URL with encoded slashes', '/pt-openai/https:%2F%2F127.0.0.1:9/x', 400],
    ['an encoded NUL', '/pt-openai/v1/models%00', 400],
    ['userinfo in the provider name', '/pt-openai@127.0.0.1:9/v1/models', 404],
    ['.. segments past the provider', '/pt-openai/v1/%2e%2e/%2e%2e/%2e%2e/pt/compat/v1/models', 404],
    ['backslashes past the provider', '/pt-openai/v1\\..\\..\\..\\x', 404],
    ['an encoded provider name', '/%70t-openai/v1/models', 404],
  ])('refuses %s (%s)', async (_, path, status) => {
    const res = await send(path);
    await expectGatewayError(res, status, status === 400 ? 'invalid_request' : 'unknown_url');
    expect(await upstreamSaw(idOf(res))).toEqual([]);
  });

  it('keeps an @ in the path on the configured origin', async () => {
    const res = await send('/pt-openai/v1/@127.0.0.1:9/x');
    expect(res.status).toBe(200);
    expect((await onlyRequest(res)).path).toBe('/pt/openai/v1/@127.0.0.1:9/x');
  });

  // The same checks on raw paths, as a server that does not normalize would hand them over.
  it.each(['/v1/../x', '/v1/./x', '/v1/%2e%2e/x', '/v1/.%2E/x', '/v1\\x', '//evil.example/x', '/v1//x', '@evil.example/x', 'x', '/v1/%2Fx', '/v1/%25'])(
    'refuses the raw path %s',
    (path) => {
      expect(() => upstreamUrl('https://api.example.com/root', path, '')).toThrow(/cannot be forwarded/);
    },
  );

  it('builds root + path + query, and strips only the parameters carrying the caller key', () => {
    expect(upstreamUrl('https://api.example.com/root', '/v1/models/a:b%20c/', '?x=1')).toBe('https://api.example.com/root/v1/models/a:b%20c/?x=1');
    expect(forwardedQuery('?a=1&key=sk-1&b=2', 'sk-1')).toBe('?a=1&b=2');
    expect(forwardedQuery('?key=sk%2D1', 'sk-1')).toBe('');
    expect(forwardedQuery('?a=1', undefined)).toBe('?a=1');
    expect(() => checkPath('')).toThrow(/path of the provider/);
  });
});

describe('upstream answers', () => {
  it('never follows a redirect: 502, no Location, and its target is never asked', async () => {
    const res = await send('/pt-openai/redirect');
    await expectGatewayError(res, 502, 'upstream_failed');
    expect(res.headers.get('location')).toBeNull();
    expect((await onlyRequest(res)).path).toBe('/pt/openai/redirect');
    expect(await logRow(idOf(res))).toMatchObject({ status: 502, error_code: 'upstream_failed', provider: 'pt-openai' });
  });

  it("passes a provider's error on with its status and body, the credential redacted", async () => {
    const res = await send('/pt-openai/error-400', { body: chat });
    expect(res.status).toBe(400);
    expect(res.headers.get('retry-after')).toBe('1');
    const text = await res.text();
    expect(text).toContain('Invalid request made with Bearer [redacted]');
    expect(text).not.toContain(PT_CREDENTIALS.PT_OPENAI_KEY);
    expect(await logRow(idOf(res))).toMatchObject({ status: 400, error_code: 'upstream_rejected' });
  });

  it('passes a 304 on, without a body', async () => {
    const res = await send('/pt-openai/v1/files/file-1/not-modified', { headers: { 'if-none-match': '"v1"' } });
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe('"v1"');
    expect(await res.text()).toBe('');
    expect((await onlyRequest(res)).headers['if-none-match']).toBe('"v1"');
    expect(await logRow(idOf(res))).toMatchObject({ status: 304, error_code: null });
  });

  it("answers 502 when the provider refuses the gateway's credential (the caller's key is fine)", async () => {
    const res = await send('/pt-openai/error-401');
    await expectGatewayError(res, 502, 'upstream_credential_rejected');
  });

  it("answers 504 when the provider's headers take longer than its first_byte_ms", async () => {
    const res = await send('/pt-compat/slow');
    await expectGatewayError(res, 504, 'upstream_timeout');
    expect(await logRow(idOf(res))).toMatchObject({ status: 504, error_code: 'upstream_timeout', provider: 'pt-compat' });
  });

  it('cuts a body still running at total_ms, and logs it cut', async () => {
    const res = await send('/pt-compat/drip');
    expect(res.status).toBe(200);
    const read = await res.text().then(
      () => 'ended',
      () => 'errored',
    );
    expect(read).toBe('errored');
    expect(await logRow(idOf(res))).toMatchObject({ status: 200, stream: 1, stream_cut: 1, error_code: 'upstream_timeout' });
  });
});
