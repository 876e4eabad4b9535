import { Hono, type Context } from 'hono';
import { loadConfig } from '../config/load';
import type { Env } from '../env';
import { asGatewayError, GatewayError } from '../errors';
import { errorResponse } from '../ingress/openai/errors';
import { clientIp, countFailure, refuseIfBlocked } from '../limits/auth-failures';
import {
  adminSecret, clearedSessionCookie, isAdminKey, issueSession, presented, sameOrigin, sessionCookie, type Credential,
} from './auth';
import { runMaintenance } from '../logging/maintenance';
import { callDetail, CallsQuery, listCalls } from './calls';
import { keysReport } from './keys';
import { overview } from './overview';
import { DISABLED_MESSAGE, messagePage, page, shell, signInPage } from './pages';
import { providersReport } from './providers';
import { parseQuery, rangeOf, RangeQuery } from './range';

/**
 * /dashboard (pages) and /admin/api (JSON for the pages and for scripts), behind the
 * admin key. Mounted ahead of the gateway's middleware: these requests are not
 * calls, so they are not logged, limited or priced.
 */

type AdminEnv = { Bindings: Env; Variables: { adminKey: string; credential: Credential } };
type AdminContext = Context<AdminEnv>;

export const admin = new Hono<AdminEnv>();

const isApi = (c: AdminContext) => c.req.path === '/admin' || c.req.path.startsWith('/admin/');
const NO_STORE = { 'cache-control': 'no-store' };

function json(c: AdminContext, body: unknown, status: 200 = 200): Response {
  return c.json(body, status, NO_STORE);
}

// The scripts and styles hold no data; in production the asset router serves them
// before the Worker runs (wrangler.toml run_worker_first), this is the fallback.
admin.get('/dashboard/static/*', async (c) => {
  if (!c.env.ASSETS) return page(404, messagePage('Not found', 'No static assets are bound (wrangler.toml [assets]).'));
  return c.env.ASSETS.fetch(c.req.raw);
});

// No admin key, no dashboard: say so plainly, with nothing else behind it.
// ('/x/*' matches '/x' too.)
for (const path of ['/dashboard/*', '/admin/*']) {
  admin.use(path, async (c, next) => {
    const key = adminSecret(c.env);
    if (!key) {
      if (isApi(c)) return errorResponse(new GatewayError('unknown_url', DISABLED_MESSAGE), NO_STORE);
      return page(404, messagePage('Dashboard disabled', DISABLED_MESSAGE));
    }
    c.set('adminKey', key);
    // Guessing the key through the bearer header counts against the caller keys' brute-force guard.
    const ip = clientIp(c.req.raw);
    if (c.req.header('authorization') !== undefined) refuseIfBlocked(ip);
    const credential = await presented(c.req.raw, key, Date.now());
    if (credential === 'wrong') {
      const blocked = await countFailure(c.env, loadConfig(c.env.GATEWAY_CONFIG), ip);
      if (blocked) throw blocked;
    }
    if (credential === 'bearer' || credential === 'session') c.set('credential', credential);
    await next();
  });
}

admin.get('/dashboard/login', (c) => (c.get('credential') ? c.redirect('/dashboard', 303) : page(200, signInPage())));

admin.post('/dashboard/login', async (c) => {
  const ip = clientIp(c.req.raw);
  refuseIfBlocked(ip);
  // A login form posted from another site must not sign anyone in (login CSRF).
  if (c.req.header('origin') !== undefined && !sameOrigin(c.req.raw)) {
    return page(403, messagePage('Refused', 'Sign in from the dashboard itself.'));
  }
  const form = await c.req.parseBody();
  const key = typeof form.key === 'string' ? form.key : '';
  if (key && (await isAdminKey(key, c.get('adminKey')))) {
    const token = await issueSession(c.get('adminKey'), Date.now());
    return new Response(null, { status: 303, headers: { location: '/dashboard', 'set-cookie': sessionCookie(c.req.raw, token), ...NO_STORE } });
  }
  const blocked = await countFailure(c.env, loadConfig(c.env.GATEWAY_CONFIG), ip);
  if (blocked) throw blocked;
  return page(401, signInPage('That is not the admin key.'), { 'www-authenticate': 'Bearer' });
});

admin.post('/dashboard/logout', (c) => {
  if (c.get('credential') === 'session' && !sameOrigin(c.req.raw)) {
    return page(403, messagePage('Refused', 'Sign out from the dashboard itself.'));
  }
  return new Response(null, { status: 303, headers: { location: '/dashboard/login', 'set-cookie': clearedSessionCookie(c.req.raw), ...NO_STORE } });
});

const PAGES: Record<string, string> = {
  '/dashboard': 'overview',
  '/dashboard/keys': 'keys',
  '/dashboard/providers': 'providers',
  '/dashboard/calls': 'calls',
  '/dashboard/calls/:id': 'call',
};
for (const [path, name] of Object.entries(PAGES)) {
  admin.get(path, (c) => {
    if (!c.get('credential')) {
      return page(401, signInPage('Sign in to see the dashboard.'), { 'www-authenticate': 'Bearer' });
    }
    return page(200, shell(name));
  });
}

// Every /admin/api route: the bearer key, or the session cookie (plus Origin on writes).
admin.use('/admin/*', async (c, next) => {
  const credential = c.get('credential');
  if (!credential) {
    const sent = c.req.header('authorization') !== undefined;
    throw new GatewayError(
      sent ? 'invalid_api_key' : 'missing_api_key',
      sent ? 'Incorrect admin key provided.' : 'The admin API needs the admin key: send it as Authorization: Bearer <GATEWAY_ADMIN_KEY>.',
      { headers: { 'www-authenticate': sent ? 'Bearer error="invalid_token"' : 'Bearer' }, wireCode: sent ? 'invalid_admin_key' : 'missing_admin_key' },
    );
  }
  const writes = !['GET', 'HEAD', 'OPTIONS'].includes(c.req.method);
  if (writes && credential === 'session' && !sameOrigin(c.req.raw)) {
    throw new GatewayError('invalid_request', 'Cross-origin request refused: send the admin key as a bearer token', { status: 403, type: 'permission_error' });
  }
  await next();
});

admin.get('/admin/api', (c) =>
  json(c, {
    endpoints: [
      'GET /admin/api/overview?range=1h|6h|24h|7d|30d (or from=&to= ISO 8601)',
      'GET /admin/api/keys?range=…',
      'GET /admin/api/providers?range=…',
      'GET /admin/api/calls?range=…&key=&model=&status=2xx|4xx|5xx|499|error|<code>&cache=HIT|MISS|REFRESH|BYPASS&tag=name:value&limit=&cursor=',
      'GET /admin/api/calls/<request id>',
      'POST /admin/api/maintenance (roll finished hours, apply retention: what the cron does)',
    ],
  }),
);

admin.get('/admin/api/overview', async (c) => {
  const range = rangeOf(parseQuery(RangeQuery, c.req.query()), Date.now());
  return json(c, await overview(c.env.DB, range));
});

admin.get('/admin/api/keys', async (c) => {
  const now = Date.now();
  const range = rangeOf(parseQuery(RangeQuery, c.req.query()), now);
  return json(c, await keysReport(c.env.DB, loadConfig(c.env.GATEWAY_CONFIG), range, now));
});

admin.get('/admin/api/providers', async (c) => {
  const now = Date.now();
  const range = rangeOf(parseQuery(RangeQuery, c.req.query()), now);
  return json(c, await providersReport(c.env, loadConfig(c.env.GATEWAY_CONFIG), range, now));
});

admin.get('/admin/api/calls', async (c) => {
  const filter = parseQuery(CallsQuery, c.req.query());
  return json(c, await listCalls(c.env.DB, rangeOf(filter, Date.now()), filter));
});

admin.get('/admin/api/calls/:id', async (c) => json(c, await callDetail(c.env.DB, c.req.param('id'))));
admin.post('/admin/api/maintenance', async (c) => json(c, await runMaintenance(c.env, Date.now())));

admin.all('/admin/*', (c) => {
  throw new GatewayError('unknown_url', `Invalid URL (${c.req.method} ${c.req.path}); GET /admin/api lists the admin API`);
});
admin.all('/dashboard/*', () => page(404, messagePage('Not found', 'No such dashboard page.')));

admin.onError((error, c) => {
  const gatewayError = asGatewayError(error, 'admin');
  if (gatewayError !== error) console.error(`admin ${c.req.method} ${c.req.path}:`, error);
  if (isApi(c)) return errorResponse(gatewayError, NO_STORE);
  const html = gatewayError.status === 429 ? signInPage(gatewayError.message) : messagePage('Error', gatewayError.message);
  return page(gatewayError.status, html, gatewayError.headers);
});
