import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { isAdminKey, isValidSession, issueSession, SESSION_TTL_MS } from '../src/admin/auth';
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
