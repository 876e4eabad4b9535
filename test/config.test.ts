import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fieldPath, parseConfig } from '../src/config/load';
import { KEYS } from './support/constants';
import { client, inWorker, logRow, postJson, testEnv, upstreamSaw } from './support/gateway';

/**
 * GATEWAY_CONFIG validation: a bad config never half-works (every route answers 500
 * config_invalid naming the field), a JSON-string config works like a table, and
 * caller keys rotate through two secret slots.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Config = Record<string, any>;

/** A deep copy of the config the test Worker runs with (fixture upstream, real keys). */
const base = (): Config => structuredClone(testEnv.GATEWAY_CONFIG) as Config;
const MISSING = Symbol('missing');

/** One request to the Worker with a replaced env; waits for its background work (the log row). */
async function call(config: unknown, path: string, init: RequestInit = {}, envPatch: Record<string, unknown> = {}) {
  // An unset var is undefined in env, as in production.
  const patch = { GATEWAY_CONFIG: config === MISSING ? undefined : config, ...envPatch };
  return inWorker(patch, async (fetch) => {
    const res = await fetch(new Request(`http://gateway.test${path}`, init));
    const text = await res.text();
    return { res, text, id: res.headers.get('x-request-id') ?? '' };
  });
}

const auth = (key: string = KEYS.teamA) => ({ authorization: `Bearer ${key}` });
const chatInit = (key?: string): RequestInit => ({
  method: 'POST',
  headers: { ...auth(key), 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }),
});

// The Worker reports a bad config with console.error; keep the test output readable.
beforeEach(() => {
  vi.spyOn(console, 'error').mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
});

const BAD_CONFIGS: [string, () => unknown, string, string?][] = [
  ['a provider of unknown kind', () => { const c = base(); c.providers.fixture.kind = 'mystery'; return c; }, 'GATEWAY_CONFIG.providers.fixture.kind'],
  ['openai-compatible without base_url', () => { const c = base(); delete c.providers.quick.base_url; return c; }, 'GATEWAY_CONFIG.providers.quick.base_url'],
  ['a target naming an undeclared provider', () => { const c = base(); c.models.x = { targets: [{ provider: 'ghost', model: 'm' }] }; return c; }, 'GATEWAY_CONFIG.models.x.targets[0].provider'],
  ['a key allowing an unknown alias', () => { const c = base(); c.keys['team-b'].models = ['gpt-test', 'no-such-alias']; return c; }, 'GATEWAY_CONFIG.keys["team-b"].models[1]'],
  ['a negative provider timeout', () => { const c = base(); c.providers.quick.timeouts.first_byte_ms = -400; return c; }, 'GATEWAY_CONFIG.providers.quick.timeouts.first_byte_ms'],
  ['a negative global timeout', () => ({ ...base(), timeouts: { total_ms: -1 } }), 'GATEWAY_CONFIG.timeouts.total_ms'],
  ['a zero max_body_bytes', () => ({ ...base(), max_body_bytes: 0 }), 'GATEWAY_CONFIG.max_body_bytes'],
  ['an unknown top-level field', () => ({ ...base(), max_body_byte: 1024 }), 'GATEWAY_CONFIG.max_body_byte', 'max_body_byte'],
  ['a negative token limit', () => { const c = base(); (c.keys as Record<string, any>).tokens.limits.tokens_per_minute = -5; return c; }, 'GATEWAY_CONFIG.keys.tokens.limits.tokens_per_minute'],
  ['a per-model limit for an unknown model', () => { const c = base(); (c.keys as Record<string, any>)['team-b'].limits = { models: { 'no-such-model': { requests: [{ limit: 1, window_s: 1 }] } } }; return c; }, 'GATEWAY_CONFIG.keys["team-b"].limits.models["no-such-model"]'],
  ['a fleet rule for an unknown model', () => { const c = base(); (c.limits as Record<string, any>).models = { ghost: { tokens_per_minute: 10 } }; return c; }, 'GATEWAY_CONFIG.limits.models.ghost'],
  ['a zero budget', () => { const c = base(); (c.keys as Record<string, any>).budget.limits.budget_usd.daily = 0; return c; }, 'GATEWAY_CONFIG.keys.budget.limits.budget_usd.daily'],
  ['a price for an undeclared provider', () => { const c = base(); (c.prices as Record<string, any>)['nobody/model'] = { input_per_mtok: 1, output_per_mtok: 1 }; return c; }, 'GATEWAY_CONFIG.prices["nobody/model"]'],
  ['a model with both targets and tiers', () => { const c = base(); (c.models as Record<string, any>).both = { targets: [{ provider: 'openai', model: 'x' }], tiers: [{ targets: [{ provider: 'openai', model: 'x' }] }] }; return c; }, 'GATEWAY_CONFIG.models.both.targets'],
  ['a negative retry count', () => { const c = base(); (c.routing as Record<string, any>).retry.retries = -1; return c; }, 'GATEWAY_CONFIG.routing.retry.retries'],
  ['a cache min TTL above its max', () => ({ ...base(), cache: { min_ttl_s: 100, max_ttl_s: 10 } }), 'GATEWAY_CONFIG.cache.min_ttl_s'],
  ['a string that is not JSON', () => '{"providers": {', 'GATEWAY_CONFIG', 'not valid JSON'],
  ['no GATEWAY_CONFIG at all', () => MISSING, 'GATEWAY_CONFIG', 'not set'],
];

describe('an invalid config never half-works', () => {
  it.each(BAD_CONFIGS)('answers 500 config_invalid on every route for %s', async (_name, make, field, mention) => {
    const routes: [string, RequestInit][] = [
      ['/healthz', {}],
      ['/v1/models', { headers: auth() }],
      ['/v1/chat/completions', chatInit()],
    ];
    for (const [path, init] of routes) {
      const { res, text, id } = await call(make(), path, init);
      expect(res.status, `${path}: ${text}`).toBe(500);
      expect(id).toMatch(/^req_[0-9a-f]{32}$/);
      const body = JSON.parse(text) as { error: Record<string, unknown> };
      expect(Object.keys(body)).toEqual(['error']);
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
      expect(body.error).toMatchObject({ code: 'config_invalid', type: 'server_error', param: field });
      expect(body.error.message).toContain(field);
      if (mention) expect(body.error.message).toContain(mention);
      for (const secret of Object.values(KEYS)) expect(text).not.toContain(secret);
      expect(await logRow(id)).toMatchObject({ status: 500, error_code: 'config_invalid', key_id: null });
      expect(await upstreamSaw(id)).toEqual([]);
    }
  });

  it('recovers as soon as the config is valid again', async () => {
    expect((await call(BAD_CONFIGS[0]![1](), '/healthz')).res.status).toBe(500);
    const { res, id } = await call(base(), '/v1/chat/completions', chatInit());
    expect(res.status).toBe(200);
    expect(await logRow(id)).toMatchObject({ status: 200, key_id: 'team-a', error_code: null });
  });

  it('refuses keys that share a secret value, naming the key', async () => {
    const shared = base();
    shared.keys['team-b'].secrets = ['KEY_TEAM_B', 'KEY_TEAM_A'];
    for (const init of [{ headers: auth(KEYS.teamB) }, { headers: auth() }]) {
      const { res, text, id } = await call(shared, '/v1/models', init);
      expect(res.status, text).toBe(500);
      const { error } = JSON.parse(text) as { error: { code: string; param: string; message: string } };
      expect(error.code).toBe('config_invalid');
      expect(error.param).toMatch(/^GATEWAY_CONFIG\.keys.*team-b.*secrets$/);
      expect(text).not.toContain(KEYS.teamA);
      expect((await logRow(id)).error_code).toBe('config_invalid');
    }
  });
});

describe('a JSON-string config (as from .dev.vars)', () => {
  it('works like the same config given as a table', async () => {
    const json = JSON.stringify(base());
    const health = await call(json, '/healthz');
    expect(health.res.status).toBe(200);
    expect(JSON.parse(health.text)).toEqual({ status: 'ok' });

    const chat = await call(json, '/v1/chat/completions', chatInit());
    expect(chat.res.status, chat.text).toBe(200);
    expect(chat.res.headers.get('x-gateway-provider')).toBe('openai');
    expect(await logRow(chat.id)).toMatchObject({ status: 200, key_id: 'team-a', model: 'gpt-test' });
  });
});

describe('key rotation', () => {
  it('accepts the current and the next secret of a key at the same time, as one key id', async () => {
    const [current, next] = await Promise.all([
      postJson('/v1/chat/completions', { model: 'gpt-test', messages: [{ role: 'user', content: 'a' }] }, KEYS.teamA),
      postJson('/v1/chat/completions', { model: 'gpt-test', messages: [{ role: 'user', content: 'b' }] }, KEYS.teamANext),
    ]);
    expect([current.status, next.status]).toEqual([200, 200]);
    for (const res of [current, next]) {
      expect((await logRow(res.headers.get('x-request-id')!)).key_id).toBe('team-a');
    }
    const [viaCurrent, viaNext] = await Promise.all([client(KEYS.teamA).models.list(), client(KEYS.teamANext).models.list()]);
    expect(viaNext.data.map((m) => m.id)).toEqual(viaCurrent.data.map((m) => m.id));
  });

  it('an empty second slot is normal: the other secret still authenticates', async () => {
    // team-b's second slot (KEY_TEAM_B_UNSET) has no secret.
    const res = await postJson('/v1/chat/completions', { model: 'gpt-test', messages: [{ role: 'user', content: 'b' }] }, KEYS.teamB);
    expect(res.status).toBe(200);
    expect((await logRow(res.headers.get('x-request-id')!)).key_id).toBe('team-b');
  });

  it('once the old secret is removed, only the new one authenticates', async () => {
    const config = base();
    const old = await call(config, '/v1/models', { headers: auth(KEYS.teamA) }, { KEY_TEAM_A: undefined });
    expect(old.res.status).toBe(401);
    expect(JSON.parse(old.text).error.code).toBe('invalid_api_key');
    expect(await logRow(old.id)).toMatchObject({ status: 401, key_id: null });

    const next = await call(config, '/v1/models', { headers: auth(KEYS.teamANext) }, { KEY_TEAM_A: undefined });
    expect(next.res.status).toBe(200);
    expect(await logRow(next.id)).toMatchObject({ status: 200, key_id: 'team-a' });
  });
});

describe('parseConfig', () => {
  it('fills the defaults of a minimal config', () => {
    const result = parseConfig({ providers: { demo: { kind: 'demo' } }, keys: { local: { secrets: ['KEY_LOCAL'] } } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toEqual({
      max_body_bytes: 4 * 1024 * 1024,
      max_response_bytes: 4 * 1024 * 1024,
      timeouts: { first_byte_ms: 30_000, idle_ms: 30_000, total_ms: 600_000 },
      providers: { demo: { kind: 'demo', headers: {}, stream_usage: true, rate_limit_scope: 'model', timeouts: {} } },
      models: {},
      keys: { local: { secrets: ['KEY_LOCAL'], models: ['*'], passthrough: [], chaos: false, log_payloads: false } },
      log: { batch_size: 50, flush_ms: 10, retention_days: 30, redact_patterns: [], payload_max_bytes: 1024 * 1024 },
      guardrails: {},
      guardrails_default: [],
      limits: {
        defaults: {},
        models: {},
        default_max_tokens: 4096,
        image_tokens: 4096,
        prompt_bytes_per_token: 1,
        lease_s: 900,
        on_unavailable: 'closed',
        timeout_ms: 2000,
        auth_failures: { limit: 20, window_s: 300 },
      },
      prices: {},
      cache: {
        enabled: false,
        version: 1,
        ttl_s: 3600,
        min_ttl_s: 1,
        max_ttl_s: 604800,
        cache_nondeterministic: false,
        cache_unknown_fields: false,
        cache_truncated: false,
        normalize: 'safe',
        max_entry_bytes: 1048576,
      },
      routing: {
        retry: { retries: 2, base_ms: 200, cap_ms: 5000 },
        deadline_ms: 600000,
        max_retry_after_ms: 30000,
        max_backoff_ms: 60000,
        panic_threshold: 0.5,
        native_forwarding: true,
        failover_on: [401, 403],
        retry_budget: { ratio: 0.2, min_per_window: 10, window_s: 10 },
        breaker: { failures: 5, cooldown_ms: 30000, jitter: 0.2, probe_lease_ms: 30000 },
        health_cache_ms: 1000,
      },
    });
  });

  it('accepts the test config both as an object and as a JSON string, identically', () => {
    const asObject = parseConfig(base());
    const asString = parseConfig(JSON.stringify(base()));
    expect(asObject.ok).toBe(true);
    expect(asString).toEqual(asObject);
  });

  it.each(BAD_CONFIGS)('names the field for %s', (_name, make, field, mention) => {
    const raw = make();
    const result = parseConfig(raw === MISSING ? undefined : raw);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.field).toBe(field);
    expect(result.error).toContain(field);
    if (mention) expect(result.error).toContain(mention);
  });

  it.each([
    ['a non-http base_url', { providers: { p: { kind: 'openai', base_url: 'ftp://x.example' } }, keys: { k: { secrets: ['K'] } } }, 'GATEWAY_CONFIG.providers.p.base_url'],
    ['a secret name that is not one', { providers: { p: { kind: 'demo' } }, keys: { k: { secrets: ['my key!'] } } }, 'GATEWAY_CONFIG.keys.k.secrets[0]'],
    ['no keys at all', { providers: { p: { kind: 'demo' } }, keys: {} }, 'GATEWAY_CONFIG.keys'],
    [
      'an alias with dots and a bad target',
      { providers: { p: { kind: 'demo' } }, models: { 'gpt-4.1': { targets: [{ provider: 'ghost', model: 'x' }] } }, keys: { k: { secrets: ['K'] } } },
      'GATEWAY_CONFIG.models["gpt-4.1"].targets[0].provider',
    ],
  ])('names the field for %s', (_name, raw, field) => {
    const result = parseConfig(raw);
    expect(result).toMatchObject({ ok: false, field });
  });

  it('spells field paths as the operator writes them', () => {
    expect(fieldPath([])).toBe('GATEWAY_CONFIG');
    expect(fieldPath(['models', 'gpt-4.1', 'targets', 0, 'provider'])).toBe('GATEWAY_CONFIG.models["gpt-4.1"].targets[0].provider');
    expect(fieldPath(['keys', 'team_a', 'secrets', 1])).toBe('GATEWAY_CONFIG.keys.team_a.secrets[1]');
  });
});
