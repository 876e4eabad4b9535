import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { BY_KEY, BY_MODEL, BY_PROVIDER, byBucket, percentileStatement, sumsStatements } from '../src/admin/aggregate';
import { isAdminKey, isValidSession, issueSession, SESSION_TTL_MS } from '../src/admin/auth';
import { callsStatement, CallsQuery } from '../src/admin/calls';
import { REFUSALS_SQL } from '../src/admin/keys';
import { ERROR_CODES_SQL, GUARDRAILS_SQL } from '../src/admin/overview';
import { attemptsSql } from '../src/admin/providers';
import gatewayWorker from '../src/index';
import { KEYS } from './support/constants';
import { BASE, client, gateway, logRow, postJson, testEnv, type TestEnv } from './support/gateway';
import { limitedKey } from './support/test-config';

/**
 * The admin credential, the dashboard's pages, and the admin API's numbers. Exact
 * figures are checked on rows inserted in fixed windows of 2020 (so nothing else in
 * the log touches them); the last part logs real calls through the gateway.
 */

const ADMIN = 'admin-test-key-6a7b8c9d0e1f';
const bearer = { authorization: `Bearer ${ADMIN}` };

function someIp(): string {
  return `203.0.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;
}

/** A request to the Worker with the admin key set (or `env` instead), and its background work awaited. */
async function admin(path: string, init: RequestInit = {}, env: Partial<TestEnv> = { GATEWAY_ADMIN_KEY: ADMIN }, base = BASE): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('cf-connecting-ip')) headers.set('cf-connecting-ip', someIp());
  const ctx = createExecutionContext();
  const response = await gatewayWorker.fetch(new Request(base + path, { ...init, headers, redirect: 'manual' }), { ...testEnv, ...env } as TestEnv, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

async function api<T = Record<string, any>>(path: string): Promise<T> {
  const response = await admin(path, { headers: bearer });
  const body = await response.json();
  expect(response.status, JSON.stringify(body)).toBe(200);
  expect(response.headers.get('cache-control')).toBe('no-store');
  return body as T;
}

async function signIn(): Promise<string> {
  const response = await admin('/dashboard/login', {
    method: 'POST',
    headers: { origin: BASE, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ key: ADMIN }),
  });
  expect(response.status).toBe(303);
  return /^gateway_admin=([^;]+)/.exec(response.headers.get('set-cookie')!)![1]!;
}

describe('the admin credential', () => {
  it('leaves the dashboard disabled, with a clear message, when no admin key is set', async () => {
    for (const response of [await gateway('/dashboard'), await admin('/dashboard/keys', {}, {})]) {
      expect(response.status).toBe(404);
      expect(await response.text()).toContain('The dashboard is disabled: no admin key is set. Set the GATEWAY_ADMIN_KEY secret');
    }
    const api = await gateway('/admin/api/overview', { headers: bearer });
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { message: string } }).error.message).toContain('GATEWAY_ADMIN_KEY');
  });

  it('answers 401 without the key, and with a wrong one, and 200 with the right one', async () => {
    const missing = await admin('/admin/api/overview');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(await missing.json()).toEqual({
      error: { message: expect.stringContaining('Authorization: Bearer'), type: 'invalid_request_error', param: null, code: 'missing_admin_key' },
    });
    for (const wrong of [ADMIN.slice(0, -1), `${ADMIN}x`, ADMIN.replace('6', '7'), KEYS.teamA]) {
      const response = await admin('/admin/api/overview', { headers: { authorization: `Bearer ${wrong}` } });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_admin_key');
    }
    // A caller key is not the admin key, and the admin key is not a caller key.
    expect((await postJson('/v1/chat/completions', { model: 'gpt-test', messages: [] }, ADMIN)).status).toBe(401);
    expect((await admin('/admin/api/overview', { headers: bearer })).status).toBe(200);
  });

  it('compares two SHA-256 digests in constant time, whatever the length of what was sent', async () => {
    const compare = vi.spyOn(crypto.subtle, 'timingSafeEqual');
    try {
      expect(await isAdminKey('x', ADMIN)).toBe(false);
      expect(await isAdminKey(`${ADMIN}${'y'.repeat(500)}`, ADMIN)).toBe(false);
      expect(await isAdminKey(ADMIN, ADMIN)).toBe(true);
      await admin('/admin/api/overview', { headers: { authorization: 'Bearer short' } });
      expect(compare).toHaveBeenCalledTimes(4);
      for (const [a, b] of compare.mock.calls) {
        expect([(a as ArrayBuffer).byteLength, (b as ArrayBuffer).byteLength]).toEqual([32, 32]);
      }
    } finally {
      compare.mockRestore();
    }
  });

  it('refuses an IP that keeps guessing (429), like caller keys', async () => {
    const ip = someIp();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      statuses.push((await admin('/admin/api/keys', { headers: { authorization: `Bearer guess-${i}`, 'cf-connecting-ip': ip } })).status);
    }
    // test-config: auth_failures 5 per 60 s: the sixth guess is refused before it is checked.
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
  });

  it('shows an unauthenticated browser a 401 sign-in page with no data in it', async () => {
    for (const path of ['/dashboard', '/dashboard/keys', '/dashboard/providers', '/dashboard/calls', '/dashboard/calls/req_1']) {
      const response = await admin(path);
      expect(response.status).toBe(401);
      const html = await response.text();
      expect(html).toContain('Sign in to see the dashboard.');
      expect(html).toContain('<form method="post" action="/dashboard/login">');
      expect(html).not.toContain('app.js');
      expect(html).not.toMatch(/team-a|gpt-test|openai/);
    }
  });

  it('signs in with the form: an HttpOnly, SameSite=Strict session cookie (Secure on https) that opens pages and the API', async () => {
    const wrong = await admin('/dashboard/login', {
      method: 'POST',
      headers: { origin: BASE, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: 'not-it' }),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('That is not the admin key.');

    const ok = await admin('/dashboard/login', {
      method: 'POST',
      headers: { origin: BASE, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: ADMIN }),
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/dashboard');
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^gateway_admin=\d+\.[0-9a-f]{32}\.[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(cookie).not.toContain(ADMIN);

    const secure = await admin(
      '/dashboard/login',
      { method: 'POST', headers: { origin: 'https://gateway.example', 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ key: ADMIN }) },
      undefined,
      'https://gateway.example',
    );
    expect(secure.headers.get('set-cookie')).toMatch(/; Secure$/);

    const session = cookie.split(';')[0]!;
    const shell = await admin('/dashboard', { headers: { cookie: session } });
    expect(shell.status).toBe(200);
    expect(shell.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await shell.text()).toContain('<script type="module" src="/dashboard/static/app.js"></script>');
    expect((await admin('/admin/api/overview?range=1h', { headers: { cookie: session } })).status).toBe(200);
    expect((await admin('/dashboard/login', { headers: { cookie: session } })).headers.get('location')).toBe('/dashboard');
  });

  it('refuses cross-site sign-ins, sign-outs and cookie-borne writes (CSRF), not bearer ones', async () => {
    const session = `gateway_admin=${await signIn()}`;
    const evil = 'https://evil.example';
    const login = await admin('/dashboard/login', {
      method: 'POST',
      headers: { origin: evil, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: ADMIN }),
    });
    expect(login.status).toBe(403);
    expect(login.headers.get('set-cookie')).toBeNull();
    expect((await admin('/dashboard/logout', { method: 'POST', headers: { cookie: session, origin: evil } })).status).toBe(403);
    // A write riding on the cookie needs our own Origin; with the bearer key it needs none.
    expect((await admin('/admin/api/calls', { method: 'POST', headers: { cookie: session } })).status).toBe(403);
    expect((await admin('/admin/api/calls', { method: 'POST', headers: { cookie: session, origin: evil } })).status).toBe(403);
    expect((await admin('/admin/api/calls', { method: 'POST', headers: { cookie: session, origin: BASE } })).status).toBe(404);
    expect((await admin('/admin/api/calls', { method: 'POST', headers: bearer })).status).toBe(404);
  });

  it('signs out: the cookie is cleared and the pages ask to sign in again', async () => {
    const session = `gateway_admin=${await signIn()}`;
    const out = await admin('/dashboard/logout', { method: 'POST', headers: { cookie: session, origin: BASE } });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/dashboard/login');
    expect(out.headers.get('set-cookie')).toBe('gateway_admin=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0');
    expect((await admin('/dashboard')).status).toBe(401);
  });

  it('accepts only genuine, unexpired sessions signed with the current key', async () => {
    const now = Date.now();
    const token = await issueSession(ADMIN, now);
    expect(await isValidSession(token, ADMIN, now)).toBe(true);
    expect(await isValidSession(token, ADMIN, now + SESSION_TTL_MS + 1)).toBe(false);
    expect(await isValidSession(token, 'rotated-admin-key', now)).toBe(false);
    const [expires, nonce, signature] = token.split('.');
    expect(await isValidSession(`${Number(expires) + 3600_000}.${nonce}.${signature}`, ADMIN, now)).toBe(false);
    const flipped = signature!.startsWith('A') ? `B${signature!.slice(1)}` : `A${signature!.slice(1)}`;
    expect(await isValidSession(`${expires}.${nonce}.${flipped}`, ADMIN, now)).toBe(false);
    const expired = await issueSession(ADMIN, now - SESSION_TTL_MS - 1000);
    expect((await admin('/admin/api/overview', { headers: { cookie: `gateway_admin=${expired}` } })).status).toBe(401);
  });

  it('does not log admin requests as calls', async () => {
    await admin('/admin/api/overview', { headers: bearer });
    await admin('/dashboard');
    await admin('/admin/api/nowhere', { headers: bearer });
    const row = await testEnv.DB.prepare("SELECT COUNT(*) AS n FROM calls WHERE endpoint LIKE '/admin%' OR endpoint LIKE '/dashboard%'").first<{ n: number }>();
    expect(row!.n).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// The numbers: rows inserted in fixed windows of 2020.
// ---------------------------------------------------------------------------

const W = { from: '2020-05-06T10:00:00.000Z', to: '2020-05-06T11:00:00.000Z' };
const inW = `from=${W.from}&to=${W.to}`;
/** Three days: read from the rollups (until their watermark) and raw rows after. */
const R = { from: '2020-02-01T00:00:00.000Z', to: '2020-02-04T00:00:00.000Z' };
const inR = `from=${R.from}&to=${R.to}`;

interface Call {
  request_id: string;
  ts: string;
  key_id?: string | null;
  endpoint?: string;
  model?: string | null;
  provider?: string | null;
  upstream_model?: string | null;
  stream?: number;
  status: number;
  error_code?: string | null;
  stream_cut?: number;
  latency_ms: number;
  ttfb_ms?: number | null;
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  attempts?: number;
  cache_status?: string | null;
  cost_usd?: number | null;
  saved_usd?: number | null;
  limit_status?: string | null;
  limited_by?: string | null;
  metadata?: string | null;
  guardrails?: string | null;
}

const CALL_COLUMNS = [
  'request_id', 'ts', 'key_id', 'endpoint', 'model', 'provider', 'upstream_model', 'stream', 'status', 'error_code', 'stream_cut',
  'latency_ms', 'ttfb_ms', 'prompt_tokens', 'completion_tokens', 'attempts', 'cache_status', 'cost_usd', 'saved_usd',
  'limit_status', 'limited_by', 'metadata', 'guardrails',
] as const;

function insertCall(call: Call): D1PreparedStatement {
  const row: Record<string, unknown> = { key_id: 'team-a', endpoint: 'chat.completions', model: 'gpt-test', stream: 0, stream_cut: 0, attempts: 0, ...call };
  return testEnv.DB.prepare(`INSERT INTO calls (${CALL_COLUMNS.join(', ')}) VALUES (${CALL_COLUMNS.map(() => '?').join(', ')})`).bind(
    ...CALL_COLUMNS.map((c) => row[c] ?? null),
  );
}

function insertAttempt(requestId: string, n: number, ts: string, provider: string, model: string, status: number | null, errorCode: string | null, latencyMs: number, decision: string | null = null) {
  return testEnv.DB.prepare(
    'INSERT INTO attempts (request_id, n, ts, provider, model, status, error_code, latency_ms, wait_ms, decision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)',
  ).bind(requestId, n, ts, provider, model, status, errorCode, latencyMs, decision);
}

function insertHour(hour: string, keyId: string, statusClass: string, cacheStatus: string, sums: { calls: number; errors: number; prompt: number; completion: number; cost: number; saved: number; latencySum: number; ttfbSum: number; ttfbCount: number; hist: number[] }) {
  return testEnv.DB.prepare(
    `INSERT INTO call_hours (hour, key_id, model, provider, status_class, cache_status, calls, errors, stream_cuts, prompt_tokens, completion_tokens,
       cost_usd, saved_usd, latency_ms_sum, ttfb_ms_sum, ttfb_count, latency_hist) VALUES (?, ?, 'gpt-test', 'openai', ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).bind(hour, keyId, statusClass, cacheStatus, sums.calls, sums.errors, sums.prompt, sums.completion, sums.cost, sums.saved, sums.latencySum, sums.ttfbSum, sums.ttfbCount, JSON.stringify(sums.hist));
}

const at = (time: string) => `2020-05-06T${time}.000Z`;
const hist = (bins: Record<number, number>) => Array.from({ length: 10 }, (_, i) => bins[i] ?? 0);

const PII_REDACTED = { name: 'pii', kind: 'pii', stage: 'input', mode: 'redact', action: 'redacted', found: ['EMAIL'] };

beforeAll(async () => {
  const openai = { provider: 'openai', upstream_model: 'gpt-test' };
  await testEnv.DB.batch([
    insertCall({
      request_id: 'w1', ts: at('10:00:05'), ...openai, status: 200, latency_ms: 100, ttfb_ms: 40, prompt_tokens: 10, completion_tokens: 5, attempts: 1, cache_status: 'MISS', cost_usd: 0.0001,
      guardrails: JSON.stringify([PII_REDACTED, { name: 'no-secrets', kind: 'secrets', stage: 'output', mode: 'flag', action: 'flagged', found: ['BEARER'] }]),
    }),
    insertCall({ request_id: 'w2', ts: at('10:00:30'), ...openai, status: 200, latency_ms: 300, ttfb_ms: 60, prompt_tokens: 20, completion_tokens: 10, cache_status: 'HIT', cost_usd: 0, saved_usd: 0.0002 }),
    insertCall({ request_id: 'w3', ts: at('10:01:10'), ...openai, status: 502, error_code: 'upstream_failed', latency_ms: 50, attempts: 2, guardrails: JSON.stringify([PII_REDACTED]) }),
    insertCall({ request_id: 'w4', ts: at('10:02:00'), provider: null, status: 429, error_code: 'rate_limit_exceeded', latency_ms: 1, limit_status: 'rejected', limited_by: 'requests:10s' }),
    insertCall({ request_id: 'w5', ts: at('10:02:30'), ...openai, stream: 1, stream_cut: 1, status: 499, error_code: 'client_closed', latency_ms: 700, attempts: 1 }),
    insertCall({
      request_id: 'w6', ts: at('10:03:00'), key_id: 'team-b', endpoint: 'embeddings', model: 'embed-test', provider: 'openai', upstream_model: 'text-embedding-test',
      status: 200, latency_ms: 20, ttfb_ms: 15, prompt_tokens: 8, completion_tokens: 0, attempts: 1, cost_usd: 0.00001, metadata: '{"team":"search","tier":2,"beta":true,"cost-center":"ml"}',
    }),
    insertCall({ request_id: 'w7', ts: at('10:04:00'), key_id: null, model: null, status: 401, error_code: 'invalid_api_key', latency_ms: 2 }),
    insertAttempt('w1', 1, at('10:00:05'), 'openai', 'gpt-test', 200, null, 90),
    insertAttempt('w3', 1, at('10:01:10'), 'fixture', 'fault-500', 500, 'upstream_failed', 30),
    insertAttempt('w3', 2, at('10:01:10'), 'openai', 'gpt-test', 502, 'upstream_failed', 15),
    insertAttempt('w5', 1, at('10:02:30'), 'breaky', 'fault-500', null, null, 0, 'skipped_breaker'),
    insertAttempt('w5', 2, at('10:02:30'), 'openai', 'gpt-test', 200, null, 600),
    insertAttempt('w6', 1, at('10:03:00'), 'openai', 'text-embedding-test', 200, null, 18),

    insertHour('2020-02-01T03:00:00.000Z', 'team-a', '2xx', '', { calls: 10, errors: 0, prompt: 100, completion: 50, cost: 0.01, saved: 0, latencySum: 1000, ttfbSum: 400, ttfbCount: 10, hist: hist({ 1: 10 }) }),
    insertHour('2020-02-02T10:00:00.000Z', 'team-b', '5xx', '', { calls: 2, errors: 2, prompt: 0, completion: 0, cost: 0, saved: 0, latencySum: 3000, ttfbSum: 0, ttfbCount: 0, hist: hist({ 5: 2 }) }),
    insertHour('2020-02-02T11:00:00.000Z', 'team-a', '2xx', 'HIT', { calls: 4, errors: 0, prompt: 40, completion: 20, cost: 0, saved: 0.004, latencySum: 80, ttfbSum: 0, ttfbCount: 0, hist: hist({ 0: 4 }) }),
    // Still in the raw table but already rolled up: must not be counted twice.
    insertCall({ request_id: 'r-rolled', ts: '2020-02-01T05:00:00.000Z', status: 200, latency_ms: 5, cost_usd: 5 }),
    insertCall({ request_id: 'r-after', ts: '2020-02-03T05:00:00.000Z', provider: 'openai', status: 200, latency_ms: 150, ttfb_ms: 50, prompt_tokens: 10, completion_tokens: 5, cache_status: 'MISS', cost_usd: 0.001 }),
  ]);
});

describe('the admin API numbers', () => {
  it('overview over raw rows: totals, exact percentiles, per-minute series, errors by code', async () => {
    const body = await api(`/admin/api/overview?${inW}`);
    expect(body.range).toEqual({ from: W.from, to: W.to, bucket_ms: 60_000 });
    expect(body.percentiles).toBe('exact');
    expect(body.totals).toEqual({
      requests: 7, errors: 3, errors_4xx: 2, errors_5xx: 1, client_closed: 1, error_rate: 0.428571, stream_cuts: 1,
      prompt_tokens: 38, completion_tokens: 15, total_tokens: 53, cost_usd: 0.00011, saved_usd: 0.0002,
      cache_hits: 1, cache_lookups: 2, cache_hit_ratio: 0.5,
      latency_avg_ms: 168, latency_p50_ms: 50, latency_p95_ms: 700, ttfb_avg_ms: 38,
    });
    const s = body.series;
    expect(s.t).toHaveLength(60);
    expect(s.t[0]).toBe(Date.parse(W.from));
    expect(s.requests.slice(0, 6)).toEqual([2, 1, 2, 1, 1, 0]);
    expect(s.errors_4xx.slice(0, 5)).toEqual([0, 0, 1, 0, 1]);
    expect(s.errors_5xx.slice(0, 5)).toEqual([0, 1, 0, 0, 0]);
    expect(s.client_closed.slice(0, 5)).toEqual([0, 0, 1, 0, 0]);
    expect(s.latency_p50_ms.slice(0, 6)).toEqual([100, 50, 1, 20, 2, null]);
    expect(s.latency_p95_ms.slice(0, 6)).toEqual([300, 50, 700, 20, 2, null]);
    expect(s.ttfb_avg_ms.slice(0, 5)).toEqual([50, null, null, 15, null]);
    expect(s.cache_hit_ratio.slice(0, 3)).toEqual([0.5, null, null]);
    expect(s.cost_usd.slice(0, 4)).toEqual([0.0001, 0, 0, 0.00001]);
    expect(s.saved_usd[0]).toBe(0.0002);
    expect(body.guardrails).toEqual([
      { name: 'pii', stage: 'input', action: 'redacted', count: 2 },
      { name: 'no-secrets', stage: 'output', action: 'flagged', count: 1 },
    ]);
    expect(body.error_codes.toSorted((a: { status: number }, b: { status: number }) => a.status - b.status)).toEqual([
      { status: 401, code: 'invalid_api_key', count: 1 },
      { status: 429, code: 'rate_limit_exceeded', count: 1 },
      { status: 499, code: 'client_closed', count: 1 },
      { status: 502, code: 'upstream_failed', count: 1 },
    ]);
  });

  it('overview over a long range: hourly rollups up to their watermark, raw rows after, percentiles from the histogram', async () => {
    const body = await api(`/admin/api/overview?${inR}`);
    expect(body.range).toEqual({ from: R.from, to: R.to, bucket_ms: 3_600_000 });
    expect(body.rollups_until).toBe('2020-02-02T12:00:00.000Z');
    expect(body.percentiles).toBe('histogram');
    expect(body.totals).toEqual({
      requests: 17, errors: 2, errors_4xx: 0, errors_5xx: 2, client_closed: 0, error_rate: 0.117647, stream_cuts: 0,
      prompt_tokens: 150, completion_tokens: 75, total_tokens: 225, cost_usd: 0.011, saved_usd: 0.004,
      cache_hits: 4, cache_lookups: 5, cache_hit_ratio: 0.8,
      // 4230 ms over 17 calls; histogram bins 0-50: 4, 50-100: 10, 100-200: 1, 1000-2000: 2.
      latency_avg_ms: 249, latency_p50_ms: 73, latency_p95_ms: 1575, ttfb_avg_ms: 41,
    });
    const s = body.series;
    expect(s.t).toHaveLength(72);
    const nonZero = s.requests.flatMap((n: number, i: number) => (n > 0 ? [[i, n]] : []));
    expect(nonZero).toEqual([[3, 10], [34, 2], [35, 4], [53, 1]]);
    expect(s.latency_p50_ms[3]).toBe(75);
    expect(s.latency_p95_ms[34]).toBe(1950);
    expect(s.cache_hit_ratio[35]).toBe(1);
    expect(s.cost_usd[53]).toBe(0.001);
  });

  it('keys: traffic, refusals by rule, top models, and budgets from the config', async () => {
    const body = await api(`/admin/api/keys?${inW}`);
    const key = (id: string | null) => body.keys.find((k: { key_id: string | null }) => k.key_id === id);
    expect(key('team-a')).toEqual({
      key_id: 'team-a', configured: true, description: null, requests: 5, errors: 2, error_rate: 0.4,
      prompt_tokens: 30, completion_tokens: 15, cost_usd: 0.0001, saved_usd: 0.0002,
      refusals: { total: 1, by_rule: { 'requests:10s': 1 } },
      budget: { daily: { limit_usd: null, spent_usd: expect.any(Number) }, monthly: { limit_usd: null, spent_usd: expect.any(Number) } },
      top_models: [{ model: 'gpt-test', requests: 5, cost_usd: 0.0001 }],
    });
    expect(key('team-b')).toMatchObject({ requests: 1, errors: 0, cost_usd: 0.00001, top_models: [{ model: 'embed-test', requests: 1, cost_usd: 0.00001 }] });
    expect(key(null)).toMatchObject({ configured: false, requests: 1, errors: 1, top_models: [{ model: null, requests: 1 }] });
    // Every configured key is listed, with or without traffic; budgets merge limits.defaults as the limiter does.
    expect(key('settle')).toMatchObject({ requests: 0, budget: { daily: { limit_usd: 100 }, monthly: { limit_usd: 1000 } } });
    expect(key('budget')).toMatchObject({ budget: { daily: { limit_usd: 0.002 }, monthly: { limit_usd: null } } });
    expect(body.keys[0].key_id).toBe('team-a');

    const long = await api(`/admin/api/keys?${inR}`);
    expect(long.keys.find((k: { key_id: string }) => k.key_id === 'team-a')).toMatchObject({ requests: 15, cost_usd: 0.011, saved_usd: 0.004 });
    expect(long.keys.find((k: { key_id: string }) => k.key_id === 'team-b')).toMatchObject({ requests: 2, errors: 2 });
  });

  it('providers and targets: attempts, failures, failovers, skips, latency, and live breaker state', async () => {
    const health = testEnv.HEALTH.get(testEnv.HEALTH.idFromName('fleet'));
    await health.report('breaky/fault-500', { ok: false }, { failures: 1, cooldown_ms: 600_000, jitter: 0, probe_lease_ms: 1000 });
    const body = await api(`/admin/api/providers?${inW}`);
    const target = (id: string) => body.targets.find((t: { target: string }) => t.target === id);
    expect(target('openai/gpt-test')).toMatchObject({
      provider: 'openai', model: 'gpt-test', attempts: 3, failures: 1, failure_rate: 0.333333, failovers: 0, skipped: 0,
      latency_avg_ms: 235, latency_p95_ms: 600, breaker: { state: 'closed', consecutive_failures: 0 },
    });
    expect(target('openai/gpt-test').aliases).toEqual(expect.arrayContaining(['gpt-test', 'failover-500', 'cached']));
    expect(target('fixture/fault-500')).toMatchObject({ attempts: 1, failures: 1, failure_rate: 1, failovers: 1, latency_avg_ms: 30, latency_p95_ms: 30 });
    expect(target('breaky/fault-500')).toMatchObject({
      attempts: 0, skipped: 1, failovers: 1, failure_rate: null, latency_avg_ms: null, latency_p95_ms: null,
      breaker: { state: 'open', consecutive_failures: 1, unreachable: false, blocked_until: expect.any(String) },
    });
    expect(target('openai/text-embedding-test')).toMatchObject({ attempts: 1, failures: 0, latency_avg_ms: 18 });
    expect(body.providers.find((p: { provider: string }) => p.provider === 'openai')).toEqual({
      provider: 'openai', kind: 'openai', calls: 5, errors: 1, cost_usd: 0.00011, latency_avg_ms: 234, backoff_until: null,
    });
    expect(body.health_error).toBeNull();
  });

  it('calls: newest first, each filter, metadata tags via json_extract, and cursor pages that neither skip nor repeat', async () => {
    const ids = async (filter: string) => (await api(`/admin/api/calls?${inW}&${filter}`)).calls.map((c: { request_id: string }) => c.request_id);
    expect(await ids('')).toEqual(['w7', 'w6', 'w5', 'w4', 'w3', 'w2', 'w1']);
    expect(await ids('key=team-b')).toEqual(['w6']);
    expect(await ids('model=gpt-test')).toEqual(['w5', 'w4', 'w3', 'w2', 'w1']);
    expect(await ids('status=error')).toEqual(['w7', 'w4', 'w3']);
    expect(await ids('status=4xx')).toEqual(['w7', 'w4']);
    expect(await ids('status=5xx')).toEqual(['w3']);
    expect(await ids('status=499')).toEqual(['w5']);
    expect(await ids('status=200')).toEqual(['w6', 'w2', 'w1']);
    expect(await ids('cache=HIT')).toEqual(['w2']);
    expect(await ids('model=gpt-test&status=2xx&cache=MISS')).toEqual(['w1']);
    for (const tag of ['team:search', 'tier:2', 'beta:true', 'team', 'cost-center:ml']) expect(await ids(`tag=${encodeURIComponent(tag)}`)).toEqual(['w6']);
    for (const tag of ['team:other', 'beta:false', 'missing']) expect(await ids(`tag=${tag}`)).toEqual([]);

    const first = await api(`/admin/api/calls?${inW}&limit=3`);
    expect(first.calls[1]).toMatchObject({ request_id: 'w6', metadata: { team: 'search', tier: 2, beta: true, 'cost-center': 'ml' } });
    const second = await api(`/admin/api/calls?${inW}&limit=3&cursor=${first.next_cursor}`);
    const third = await api(`/admin/api/calls?${inW}&limit=3&cursor=${second.next_cursor}`);
    expect([first, second, third].map((page) => page.calls.map((c: { request_id: string }) => c.request_id))).toEqual([
      ['w7', 'w6', 'w5'], ['w4', 'w3', 'w2'], ['w1'],
    ]);
    expect(third.next_cursor).toBeNull();
  });

  it("a call's detail lists its attempts in order", async () => {
    const body = await api('/admin/api/calls/w3');
    expect(body.call).toMatchObject({ request_id: 'w3', status: 502, error_code: 'upstream_failed', attempts: 2 });
    expect(body.attempts).toEqual([
      { n: 1, provider: 'fixture', model: 'fault-500', status: 500, error_code: 'upstream_failed', latency_ms: 30, wait_ms: 0, decision: null },
      { n: 2, provider: 'openai', model: 'gpt-test', status: 502, error_code: 'upstream_failed', latency_ms: 15, wait_ms: 0, decision: null },
    ]);
    const missing = await admin('/admin/api/calls/req_nothing', { headers: bearer });
    expect(missing.status).toBe(404);
  });

  it('rejects bad parameters with a 400 naming them', async () => {
    for (const [query, param] of [
      ['range=2d', 'range'],
      [`from=${W.to}&to=${W.from}`, 'from'],
      [`range=1h&from=${W.from}`, 'range'],
      ['from=yesterday', 'from'],
      ['status=teapot', 'status'],
      ['tag=a"b:c', 'tag'],
      ['cursor=garbage', 'cursor'],
      ['limit=1000', 'limit'],
    ]) {
      const response = await admin(`/admin/api/calls?${query}`, { headers: bearer });
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { error: { param: string } }).error.param).toBe(param);
    }
  });
});

describe('every admin query reads through an index (EXPLAIN QUERY PLAN)', () => {
  const from = Date.parse(R.from);
  const to = Date.parse(R.to);
  const range = { from, to, bucketMs: 3_600_000 };

  async function plan(sql: string, params: unknown[]): Promise<string[]> {
    const { results } = await testEnv.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(...params).all<{ detail: string }>();
    return results.map((r) => r.detail);
  }

  /** No full scan of a table or index of ours (SCAN), and at least one index search. */
  async function expectIndexed(sql: string, params: unknown[], index?: RegExp) {
    const details = await plan(sql, params);
    expect(details.filter((d) => /^SCAN (calls|attempts|call_hours|a|b)\b/.test(d)), `${sql}\n${details.join('\n')}`).toEqual([]);
    expect(details.some((d) => /^SEARCH (calls|attempts|call_hours|a|b) USING/.test(d)), details.join('\n')).toBe(true);
    if (index) expect(details.join('\n')).toMatch(index);
  }

  it('overview, keys and providers sums: call_hours by its primary key, calls by calls_by_ts', async () => {
    for (const groups of [[byBucket(from, range.bucketMs)], [BY_KEY, BY_MODEL], [BY_PROVIDER], [BY_KEY]]) {
      const statements = sumsStatements({ from, to, groups, rollups: true }, Date.parse('2020-02-02T12:00:00.000Z'));
      expect(statements).toHaveLength(2);
      await expectIndexed(statements[0]!.sql, statements[0]!.params, /SEARCH call_hours USING (COVERING )?INDEX sqlite_autoindex_call_hours_1 \(hour>\? AND hour<\?\)/);
      await expectIndexed(statements[1]!.sql, statements[1]!.params, /calls_by_ts \(ts>\? AND ts<\?\)/);
    }
  });

  it('exact percentiles over calls and over attempts', async () => {
    const calls = percentileStatement({ table: 'calls', partition: byBucket(from, range.bucketMs).raw, from, to });
    await expectIndexed(calls.sql, calls.params, /calls_by_ts/);
    const names = ['openai', 'fixture', 'breaky'];
    const attempts = percentileStatement({
      table: 'attempts', alias: 'a', partition: "a.provider || '/' || a.model", from, to,
      where: `a.provider IN (?3, ?4, ?5) AND (a.decision IS NULL OR a.decision NOT LIKE 'skipped%')`, params: names,
    });
    await expectIndexed(attempts.sql, attempts.params, /attempts_by_provider_ts \(provider=\? AND ts>\? AND ts<\?\)/);
  });

  it('errors by code, refusals and per-target attempts use their partial and composite indexes', async () => {
    await expectIndexed(ERROR_CODES_SQL, [R.from, R.to], /calls_errors_by_ts/);
    await expectIndexed(GUARDRAILS_SQL, [R.from, R.to], /calls_guarded_by_ts/);
    await expectIndexed(REFUSALS_SQL, [R.from, R.to], /calls_limited_by_ts/);
    await expectIndexed(attemptsSql(3), [R.from, R.to, 'openai', 'fixture', 'breaky'], /SEARCH a USING INDEX attempts_by_provider_ts/);
  });

  it('the calls list, with every filter and a cursor', async () => {
    const cursor = btoa(`${W.from}|w3`).replace(/=+$/, '');
    for (const query of [{}, { key: 'team-a' }, { model: 'gpt-test' }, { status: 'error' }, { status: '5xx' }, { cache: 'HIT' }, { tag: 'team:search' }, { key: 'team-a', cursor }]) {
      const { sql, params } = callsStatement(range, CallsQuery.parse(query));
      await expectIndexed(sql, params);
    }
  });
});

describe('the admin API over calls logged through the gateway', () => {
  const sent: string[] = [];
  beforeAll(async () => {
    // The last hour holds exactly the calls below (earlier tests here logged a few).
    await testEnv.DB.prepare('DELETE FROM calls WHERE ts >= ?').bind(new Date(Date.now() - 3_600_000).toISOString()).run();
    const openai = client();
    for (let i = 0; i < 3; i++) {
      const { response } = await openai.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: `dashboard ${i}` }] }).withResponse();
      sent.push(response.headers.get('x-request-id')!);
    }
    const stream = await openai.chat.completions.create({ model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'dashboard stream' }] }).withResponse();
    for await (const _chunk of stream.data) void _chunk;
    sent.push(stream.response.headers.get('x-request-id')!);
    const budgeted = await client(limitedKey('settle')).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'budgeted' }] }).withResponse();
    sent.push(budgeted.response.headers.get('x-request-id')!);
    const refused = await postJson('/v1/chat/completions', { model: 'gpt-test', messages: [] }, 'sk-not-a-key');
    sent.push(refused.headers.get('x-request-id')!);
    for (const id of sent) await logRow(id);
  });

  it('overview of the last hour: the logged calls, their tokens, cost and exact percentiles', async () => {
    const rows = await Promise.all(sent.map((id) => logRow(id)));
    const body = await api('/admin/api/overview?range=1h');
    const sum = (f: (r: (typeof rows)[number]) => number | null) => rows.reduce((n, r) => n + (f(r) ?? 0), 0);
    const latencies = rows.map((r) => r.latency_ms).sort((a, b) => a - b);
    expect(body.totals).toMatchObject({
      requests: 6,
      errors: 1,
      errors_4xx: 1,
      prompt_tokens: sum((r) => r.prompt_tokens),
      completion_tokens: sum((r) => r.completion_tokens),
      cost_usd: Number(sum((r) => r.cost_usd).toFixed(10)),
      latency_p50_ms: latencies[2],
      latency_p95_ms: latencies[5],
    });
    expect(body.totals.prompt_tokens).toBeGreaterThan(0);
    expect(body.totals.cost_usd).toBeGreaterThan(0);
    expect(body.series.requests.reduce((a: number, b: number) => a + b, 0)).toBe(6);
  });

  it("lists a key's calls page by page, and shows a call's upstream attempt", async () => {
    const first = await api('/admin/api/calls?range=1h&key=team-a&limit=2');
    const second = await api(`/admin/api/calls?range=1h&key=team-a&limit=2&cursor=${first.next_cursor}`);
    expect(second.next_cursor).toBeNull();
    const listed = [...first.calls, ...second.calls].map((c: { request_id: string }) => c.request_id);
    expect(listed).toEqual(sent.slice(0, 4).reverse());

    const detail = await api(`/admin/api/calls/${sent[0]}`);
    expect(detail.call).toEqual(expect.objectContaining({ ...(await logRow(sent[0]!)) }));
    expect(detail.attempts).toEqual([
      { n: 1, provider: 'openai', model: 'gpt-test', status: 200, error_code: null, latency_ms: expect.any(Number), wait_ms: 0, decision: null },
    ]);
  });

  it("shows a budgeted key's spend today and this month against its budgets", async () => {
    const row = await logRow(sent[4]!);
    const body = await api('/admin/api/keys?range=1h');
    const settle = body.keys.find((k: { key_id: string }) => k.key_id === 'settle');
    expect(settle.budget).toEqual({ daily: { limit_usd: 100, spent_usd: row.cost_usd }, monthly: { limit_usd: 1000, spent_usd: row.cost_usd } });
    expect(body.keys.find((k: { key_id: string }) => k.key_id === 'team-a')).toMatchObject({ requests: 4, top_models: [{ model: 'gpt-test', requests: 4 }] });
  });
});

// Last: it applies retention to this file's 2020 rows.
describe('maintenance on demand', () => {
  it('runs what the cron runs for the admin key only, and reports it', async () => {
    expect((await admin('/admin/api/maintenance', { method: 'POST' })).status).toBe(401);
    const before = await testEnv.DB.prepare("SELECT COUNT(*) AS n FROM calls WHERE ts < '2021-01-01'").first<{ n: number }>();
    expect(before!.n).toBeGreaterThan(0);
    const response = await admin('/admin/api/maintenance', { method: 'POST', headers: bearer });
    expect(response.status).toBe(200);
    const report = (await response.json()) as Record<string, unknown>;
    expect(report).toMatchObject({ deletedCalls: expect.any(Number), rolledHours: expect.arrayContaining(["2020-05-06T10:00:00.000Z"]), done: true });
    // Rows years past the 30-day retention are gone once their hours are rolled up.
    const after = await testEnv.DB.prepare("SELECT COUNT(*) AS n FROM calls WHERE ts < '2021-01-01'").first<{ n: number }>();
    expect(after!.n).toBeLessThan(before!.n);
  });
});
