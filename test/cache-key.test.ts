import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cacheKey, canonicalJson, type KeyParts } from '../src/cache/canonical';
import { type CacheDecision, type CachePlan, planCache } from '../src/cache/policy';
import { rememberBodyText } from '../src/core/body-text';
import { parseConfig } from '../src/config/load';
import type { GatewayConfig } from '../src/config/schema';
import { GatewayError } from '../src/errors';
import { resolveModel } from '../src/routing/resolve';
import { testGatewayConfig } from './support/test-config';
import type { JsonObject } from '../src/core/json';
import type { Operation } from '../src/core/operation';

// Property tests for the response-cache key (src/cache/canonical.ts, src/cache/policy.ts).

const RUNS = { numRuns: 150, seed: 20260702 };
const KEY_RE = /^cache:v1:[0-9a-f]{64}$/;
const OPEN = { enabled: true, cache_nondeterministic: true, cache_unknown_fields: true };
/** One property over a tuple of values. */
const prop = <T>(arb: fc.Arbitrary<T>, run: (value: T) => Promise<void>, numRuns = RUNS.numRuns) =>
  fc.assert(fc.asyncProperty(arb, run), { ...RUNS, numRuns });

const raw = testGatewayConfig(1);
function makeConfig(overrides: Record<string, unknown>): GatewayConfig {
  const parsed = parseConfig({ ...raw, ...overrides });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.config;
}
const scopedKeys = {
  ...raw.keys,
  'scoped-1': { secrets: ['KEY_SCOPED_1'], cache_scope: 'shared' },
  'scoped-2': { secrets: ['KEY_SCOPED_2'], cache_scope: 'shared' },
  // A scope spelled like another key's id must not share that key's entries.
  mimic: { secrets: ['KEY_MIMIC'], cache_scope: 'team-a' },
};
const base = makeConfig({ cache: OPEN, keys: scopedKeys });
const collapse = makeConfig({ cache: { ...OPEN, normalize: 'collapse_whitespace' } });

interface Call {
  endpoint?: Operation;
  headers?: Record<string, string>;
  keyId?: string;
}
function plan(config: GatewayConfig, body: JsonObject, call: Call = {}): Promise<CacheDecision> {
  const route = resolveModel(config, String(body.model ?? 'gpt-test'));
  return planCache(config, route, call.endpoint ?? 'chat.completions', body, new Headers(call.headers), call.keyId ?? 'team-a');
}
async function keyOf(config: GatewayConfig, body: JsonObject, call: Call = {}): Promise<string> {
  const decision = await plan(config, body, call);
  if (!decision || !('use' in decision)) throw new Error(`no cache plan: ${JSON.stringify(decision)}`);
  expect(decision.use.key).toMatch(KEY_RE);
  return decision.use.key;
}

/** JSON equality with key order ignored: the test's own oracle for "the same value". */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as JsonObject)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as JsonObject)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameJson((a as JsonObject)[k], (b as JsonObject)[k]));
}

/** A copy with object keys in a seeded random order at every depth (arrays keep their order). */
function shuffleDeep(value: unknown, seed: number): unknown {
  let state = seed >>> 0 || 1;
  const rand = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const entries = Object.entries(v);
    for (let i = entries.length - 1, j = 0; i > 0; i--) [entries[i], entries[j]] = [entries[(j = Math.floor(rand() * (i + 1)))]!, entries[i]!];
    return Object.fromEntries(entries.map(([k, x]) => [k, walk(x)]));
  };
  return walk(value);
}

// ---- arbitraries ------------------------------------------------------------------

const ident = fc.stringMatching(/^[a-z][a-z_]{0,7}$/);
const word = fc.string({ unit: fc.constantFrom('a', 'b', 'k', 'Q', 'é', 'ñ', '1', '?', '.'), minLength: 1, maxLength: 6 });
const sep = fc.constantFrom(' ', '\n', '\t', '\n\n');
/** Text: words separated by single whitespace runs; no leading/trailing whitespace. */
const text = fc.tuple(word, fc.array(fc.tuple(sep, word), { maxLength: 4 })).map(([first, rest]) => first + rest.map(([s, w]) => s + w).join(''));
const role = fc.constantFrom('system', 'developer', 'user', 'assistant');
const message = fc.oneof(
  fc.record({ role, content: text }),
  fc.record({ role: fc.constant('user'), content: fc.array(fc.record({ type: fc.constant('text'), text }), { minLength: 1, maxLength: 3 }) }),
  fc.record({ role: fc.constant('user'), name: ident, content: text }),
);
const { schema } = fc.letrec<{ schema: JsonObject }>((tie) => ({
  schema: fc.oneof(
    { depthSize: 'small' },
    fc.record({ type: fc.constantFrom('string', 'number', 'integer', 'boolean'), description: text }, { requiredKeys: ['type'] }),
    fc.record({ type: fc.constant('string'), enum: fc.array(word, { minLength: 1, maxLength: 3 }) }),
    fc.record({ type: fc.constant('array'), items: tie('schema') }),
    fc.record({ type: fc.constant('object'), properties: fc.dictionary(ident, tie('schema'), { maxKeys: 4 }), required: fc.array(ident, { maxLength: 2 }) }),
  ),
}));
const objectSchema = fc.record({ type: fc.constant('object'), properties: fc.dictionary(ident, schema, { minKeys: 1, maxKeys: 4 }), additionalProperties: fc.boolean() });
const fn = fc.record({ name: ident, description: text, parameters: objectSchema, strict: fc.boolean() }, { requiredKeys: ['name', 'parameters'] });
const tool = fc.record({ type: fc.constant('function'), function: fn });
const tools = fc.array(tool, { minLength: 1, maxLength: 3 });
const toolChoice = fc.oneof(fc.constantFrom('none', 'auto', 'required'), fc.record({ type: fc.constant('function'), function: fc.record({ name: ident }) }));
const responseFormat = fc.oneof(
  fc.constantFrom({ type: 'text' }, { type: 'json_object' }),
  fc.record({ type: fc.constant('json_schema'), json_schema: fc.record({ name: ident, strict: fc.boolean(), schema: objectSchema }) }),
);
const logitBias = fc.dictionary(fc.integer({ min: 0, max: 200_000 }).map(String), fc.integer({ min: -100, max: 100 }), { minKeys: 1, maxKeys: 5 });
const stop = fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 4 }));
const chatBody: fc.Arbitrary<JsonObject> = fc.record(
  { model: fc.constant('gpt-test'), messages: fc.array(message, { minLength: 1, maxLength: 4 }), tools, tool_choice: toolChoice, temperature: fc.constant(0),
    max_tokens: fc.integer({ min: 1, max: 8192 }), stop, seed: fc.integer(), logit_bias: logitBias, response_format: responseFormat },
  { requiredKeys: ['model', 'messages', 'temperature'] },
);
const customKey = fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/);

// ---- properties -------------------------------------------------------------------

describe('cache key: invariance', () => {
  it('ignores object key order at every depth (messages, tools, response_format, logit_bias)', async () => {
    let reordered = 0;
    await prop(fc.tuple(chatBody, fc.integer()), async ([body, seed]) => {
      const shuffled = shuffleDeep(body, seed) as JsonObject;
      if (JSON.stringify(shuffled) !== JSON.stringify(body)) reordered++;
      expect(await keyOf(base, shuffled)).toBe(await keyOf(base, body));
    });
    expect(reordered).toBeGreaterThan(RUNS.numRuns / 2); // the property is not vacuous
  });

  it('ignores user, stream, stream_options and metadata', async () => {
    const options = fc.record({ include_usage: fc.boolean() });
    const extras = fc.record({ user: ident, stream: fc.boolean(), stream_options: options, metadata: fc.dictionary(ident, text, { maxKeys: 3 }) }, { requiredKeys: [] });
    await prop(fc.tuple(chatBody, extras, extras), async ([body, a, b]) => {
      expect(await keyOf(base, { ...body, ...a })).toBe(await keyOf(base, { ...body, ...b }));
    });
  });
});

describe('cache key: output-affecting fields', () => {
  const num = (min: number, max: number) => fc.double({ min, max, noNaN: true });
  const fields: [string, fc.Arbitrary<unknown>][] = [
    ['tools', tools], ['tool_choice', toolChoice], ['response_format', responseFormat], ['temperature', num(0, 2)],
    ['top_p', num(0, 1)], ['max_tokens', fc.integer({ min: 1, max: 1e6 })], ['max_completion_tokens', fc.integer({ min: 1, max: 1e6 })],
    ['stop', stop], ['seed', fc.integer()], ['n', fc.integer({ min: 1, max: 8 })], ['logit_bias', logitBias], ['logprobs', fc.boolean()],
    ['presence_penalty', num(-2, 2)], ['frequency_penalty', num(-2, 2)],
  ];
  const withField = (body: JsonObject, field: string, value: unknown): JsonObject =>
    Object.fromEntries(Object.entries({ ...body, [field]: value }).filter(([, v]) => v !== undefined));

  it.each(fields)('chat: changing %s changes the key', async (field, values) => {
    const pair = fc.tuple(fc.option(values, { nil: undefined }), fc.option(values, { nil: undefined })).filter(([a, b]) => !sameJson(a, b));
    await prop(fc.tuple(chatBody, pair), async ([body, [a, b]]) => {
      expect(await keyOf(base, withField(body, field, a))).not.toBe(await keyOf(base, withField(body, field, b)));
    });
  });

  it('chat: changing a message (content, role, or one more message) changes the key', async () => {
    type Msg = { role: string; content: unknown; name?: string };
    const edit = fc.oneof(fc.tuple(fc.constant('content' as const), word), fc.tuple(fc.constant('role' as const), role), fc.tuple(fc.constant('extra' as const), message));
    await prop(fc.tuple(chatBody, fc.nat(), edit), async ([body, at, [kind, value]]) => {
      const messages = [...(body.messages as Msg[])];
      const i = at % messages.length;
      const m = messages[i]!;
      if (kind === 'extra') messages.push(value as Msg);
      else if (kind === 'role') {
        fc.pre(value !== m.role);
        messages[i] = { ...m, role: value as string };
      } else {
        const content = typeof m.content === 'string' ? `${m.content}${value}` : [...(m.content as object[]), { type: 'text', text: value }];
        messages[i] = { ...m, content };
      }
      expect(await keyOf(base, { ...body, messages })).not.toBe(await keyOf(base, body));
    });
  });

  it('completions: changing the prompt changes the key', async () => {
    const prompt = fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 3 }));
    await prop(fc.tuple(prompt, word), async ([p, extra]) => {
      const changed = typeof p === 'string' ? p + extra : [...p, extra];
      const call = { endpoint: 'completions' as const };
      const key = (q: unknown) => keyOf(base, { model: 'gpt-test', prompt: q as string, temperature: 0 }, call);
      expect(await key(changed)).not.toBe(await key(p));
    });
  });

  it('embeddings: changing input, encoding_format or dimensions changes the key', async () => {
    const input = fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.string({ maxLength: 10 }), { minLength: 1, maxLength: 3 }));
    const fields = { model: fc.constant('embed-test'), input, encoding_format: fc.constantFrom('float', 'base64'), dimensions: fc.integer({ min: 1, max: 4096 }) };
    const body = fc.record(fields, { requiredKeys: ['model', 'input'] });
    await prop(fc.tuple(body, body), async ([a, b]) => {
      fc.pre(!sameJson(a, b));
      const call = { endpoint: 'embeddings' as const };
      expect(await keyOf(base, a, call)).not.toBe(await keyOf(base, b, call));
    });
  });
});

describe('cache key: route, version, scope', () => {
  const { models, providers } = raw;
  const variants = {
    base,
    otherProvider: makeConfig({ cache: OPEN, models: { ...models, 'gpt-test': { targets: [{ provider: 'fixture', model: 'gpt-test' }] } } }),
    twinProvider: makeConfig({ cache: OPEN, providers: { ...providers, twin: providers.openai }, models: { ...models, 'gpt-test': { targets: [{ provider: 'twin', model: 'gpt-test' }] } } }),
    otherUpstream: makeConfig({ cache: OPEN, models: { ...models, 'gpt-test': { targets: [{ provider: 'openai', model: 'gpt-test-2' }] } } }),
    extraTarget: makeConfig({ cache: OPEN, models: { ...models, 'gpt-test': { targets: [{ provider: 'openai', model: 'gpt-test' }, { provider: 'fixture', model: 'gpt-test' }] } } }),
    otherBaseUrl: makeConfig({ cache: OPEN, providers: { ...providers, openai: { ...providers.openai, base_url: 'http://127.0.0.1:2/openai/v1' } } }),
    version2: makeConfig({ cache: { ...OPEN, version: 2 } }),
  };

  it("changes with the alias's route (provider, its name, upstream model, targets, base_url) and the cache version", async () => {
    await prop(chatBody, async (body) => {
      const keys = await Promise.all(Object.values(variants).map((config) => keyOf(config, body)));
      expect(new Set(keys).size).toBe(keys.length);
    });
  });

  it('changes with any upstream model name behind the same alias', async () => {
    const upstream = fc.string({ minLength: 1, maxLength: 30 });
    await prop(fc.tuple(fc.tuple(upstream, upstream).filter(([a, b]) => a !== b), chatBody), async ([[a, b], body]) => {
      const at = (m: string) => makeConfig({ cache: OPEN, models: { ...models, 'gpt-test': { targets: [{ provider: 'openai', model: m }] } } });
      expect(await keyOf(at(a), body)).not.toBe(await keyOf(at(b), body));
    }, 100);
  });

  const unscoped = Object.entries(raw.keys as Record<string, { cache_scope?: string }>)
    .filter(([, key]) => !key.cache_scope)
    .map(([id]) => id);
  it('keeps each unscoped key apart, shares a scope, never mixes scoped and unscoped', async () => {
    const two = fc.uniqueArray(fc.constantFrom(...unscoped), { minLength: 2, maxLength: 2 });
    const scoped = fc.constantFrom('scoped-1', 'scoped-2', 'mimic');
    const header = fc.option(customKey, { nil: undefined });
    await prop(fc.tuple(chatBody, two, scoped, fc.constantFrom(...unscoped), header), async ([body, [k1, k2], s, u, custom]) => {
      const headers: Record<string, string> = custom === undefined ? {} : { 'cf-aig-cache-key': custom };
      const key = (keyId: string) => keyOf(base, body, { keyId, headers });
      expect(await key(k1!)).not.toBe(await key(k2!));
      expect(await key('scoped-1')).toBe(await key('scoped-2'));
      expect(await key(s)).not.toBe(await key(u));
      expect(await key('mimic')).not.toBe(await key('scoped-1'));
    });
  });
});

describe('cache key: a byte-identical repeat (key-memo.ts)', () => {
  const configs = [base, collapse, makeConfig({ cache: { ...OPEN, version: 2 } })];
  /** Every input of a key besides the body, and the values each may take here. */
  const inputs = {
    keyId: ['team-a', 'team-b', 'scoped-1', 'scoped-2', 'mimic'],
    customKey: [undefined, 'custom-1', 'custom-2'],
    variant: [undefined, '["out-a"]', '["out-b"]'],
    endpoint: ['chat.completions', 'completions', 'embeddings'] as Operation[],
    config: [0, 1, 2],
  };
  type Asked = { [K in keyof typeof inputs]: (typeof inputs)[K][number] };
  const asked: fc.Arbitrary<Asked> = fc.record({
    keyId: fc.constantFrom(...inputs.keyId),
    customKey: fc.constantFrom(...inputs.customKey),
    variant: fc.constantFrom(...inputs.variant),
    endpoint: fc.constantFrom(...inputs.endpoint),
    config: fc.constantFrom(...inputs.config),
  });
  /** `start`, then `start` with each input changed alone to each of its other values. */
  const neighbours = (start: Asked): Asked[] => [
    start,
    ...Object.entries(inputs).flatMap(([name, values]) =>
      (values as unknown[]).filter((v) => v !== start[name as keyof Asked]).map((v) => ({ ...start, [name]: v }) as Asked),
    ),
  ];
  async function keyFor(body: JsonObject, { keyId, customKey: custom, variant, endpoint, config: c }: Asked) {
    const config = configs[c]!;
    const headers = new Headers(custom === undefined ? {} : { 'cf-aig-cache-key': custom });
    const decision = await planCache(config, resolveModel(config, 'gpt-test'), endpoint, body, headers, keyId, variant);
    if (!decision || !('use' in decision)) throw new Error(`no cache plan: ${JSON.stringify(decision)}`);
    return decision.use.key;
  }
  /** The body as a route hands it on: parsed from these bytes, which the memo keys on. */
  const received = (text: string) => {
    const body = JSON.parse(text) as JsonObject;
    rememberBodyText(body, text);
    return body;
  };

  it('is the key computed afresh, whichever one input of the key changes between repeats', async () => {
    await prop(fc.tuple(chatBody, fc.integer(), asked), async ([body, seed, start]) => {
      const text = JSON.stringify(shuffleDeep(body, seed));
      for (const call of neighbours(start)) {
        const fresh = await keyFor(JSON.parse(text) as JsonObject, call);
        expect(await keyFor(received(text), call)).toBe(fresh);
        expect(await keyFor(received(text), call)).toBe(fresh);
      }
    }, 40);
  });
});

describe('cache key: text normalization', () => {
  const chat = (content: unknown): JsonObject => ({ model: 'gpt-test', temperature: 0, messages: [{ role: 'user', content }] });
  const parts = (s: string) => [{ type: 'text', text: s }];
  const pad = fc.tuple(fc.constantFrom('', ' ', '\n', '\r\n', '\t '), fc.constantFrom('', ' ', '\n', '\r\n ', '  '));
  const spaced = text.filter((s) => /\s/.test(s));

  it('safe: CRLF and outer whitespace do not matter, inner whitespace does', async () => {
    await prop(fc.tuple(spaced, pad, fc.boolean()), async ([s, [lead, trail], asParts]) => {
      const wrap = (t: string) => chat(asParts ? parts(t) : t);
      const k = await keyOf(base, wrap(s));
      expect(await keyOf(base, wrap(s.replaceAll('\n', '\r\n')))).toBe(k);
      expect(await keyOf(base, wrap(lead + s + trail))).toBe(k);
      expect(await keyOf(base, wrap(s.replace(/\s/, (w) => ` ${w}`)))).not.toBe(k);
    });
  });

  it('collapse_whitespace: inner whitespace runs do not matter either', async () => {
    await prop(fc.tuple(spaced, pad, fc.boolean()), async ([s, [lead, trail], asParts]) => {
      const wrap = (t: string) => chat(asParts ? parts(t) : t);
      const k = await keyOf(collapse, wrap(s));
      expect(await keyOf(collapse, wrap(lead + s.replace(/\s+/g, '\r\n \t') + trail))).toBe(k);
      expect(await keyOf(collapse, wrap(s.replace(/\s+/g, ' ')))).toBe(k);
    });
  });

  it('case and Unicode normalization form always matter, at every level', async () => {
    const accented = text.filter((s) => s.normalize('NFD') !== s && s.toUpperCase() !== s);
    await prop(fc.tuple(accented, fc.boolean()), async ([s, asParts]) => {
      const wrap = (t: string) => chat(asParts ? parts(t) : t);
      for (const config of [base, collapse]) {
        const k = await keyOf(config, wrap(s));
        expect(await keyOf(config, wrap(s.normalize('NFD')))).not.toBe(k);
        expect(await keyOf(config, wrap(s.toUpperCase()))).not.toBe(k);
      }
    });
  });

  it('never normalizes embedding input', async () => {
    await prop(spaced, async (s) => {
      const call = { endpoint: 'embeddings' as const };
      for (const config of [base, collapse]) {
        const key = (input: string) => keyOf(config, { model: 'embed-test', input }, call);
        const k = await key(s);
        for (const v of [` ${s}`, `${s}\n`, s.replaceAll('\n', '\r\n'), s.replace(/\s/, '  '), s.normalize('NFD')]) {
          if (v !== s) expect(await key(v)).not.toBe(k);
        }
      }
    });
  });
});

describe('cache key: cf-aig-cache-key and format', () => {
  const h = (k: string) => ({ headers: { 'cf-aig-cache-key': k } });

  it('a custom key stands in for the body; different custom keys differ', async () => {
    await prop(fc.tuple(chatBody, chatBody, customKey, customKey), async ([a, b, k1, k2]) => {
      expect(await keyOf(base, a, h(k1))).toBe(await keyOf(base, b, h(k1)));
      if (k1 !== k2) expect(await keyOf(base, a, h(k1))).not.toBe(await keyOf(base, a, h(k2)));
    });
  });

  // Fails today: canonicalRequest encodes a custom key as the body {"custom_key": k}, so a body that is exactly that
  // (allowed by planCache when cache_unknown_fields is on) gets the same key. Request validation currently keeps such
  // a body from reaching planCache, but the key itself is not domain-separated.
  it('a custom key never collides with a computed one (even a body that mimics it)', async () => {
    const body = fc.oneof(chatBody, customKey.map((k): JsonObject => ({ model: 'gpt-test', custom_key: k })));
    await prop(fc.tuple(body, customKey, fc.boolean()), async ([b, k, mimic]) => {
      const custom = mimic && typeof b.custom_key === 'string' ? b.custom_key : k;
      expect(await keyOf(base, b)).not.toBe(await keyOf(base, b, h(custom)));
    });
  });

  it('cacheKey always has the form cache:v1:<64 hex>', async () => {
    const parts: fc.Arbitrary<KeyParts> = fc.record({
      version: fc.nat(), scope: fc.string(), endpoint: fc.constantFrom('chat.completions', 'completions', 'embeddings'),
      model: fc.string(), routeFingerprint: fc.string(), body: fc.dictionary(fc.string(), fc.jsonValue()),
      normalize: fc.constantFrom('safe', 'collapse_whitespace'),
    });
    await fc.assert(fc.asyncProperty(parts, async (p) => void expect(await cacheKey(p)).toMatch(KEY_RE)), RUNS);
  });
});

describe('cache policy decisions', () => {
  const strict = makeConfig({ cache: { enabled: true } });
  const clamped = makeConfig({ cache: { enabled: true, min_ttl_s: 10, max_ttl_s: 100 } });
  const body = { model: 'gpt-test', temperature: 0, messages: [{ role: 'user', content: 'hi' }] };
  const use = async (config: GatewayConfig, b: JsonObject, headers: Record<string, string> = {}) =>
    ((await plan(config, b, { headers })) as { use: CachePlan }).use;

  it('does nothing when the cache is disabled', async () => expect(await plan(makeConfig({}), body)).toBeUndefined());

  it('bypasses nondeterministic requests unless cache_nondeterministic', async () => {
    const { temperature: _, ...unset } = body;
    for (const b of [unset, { ...body, temperature: 0.7 }, { ...body, n: 2 }]) {
      expect(await plan(strict, b)).toEqual({ bypass: 'nondeterministic request' });
      expect(await plan(base, b)).toHaveProperty('use');
    }
    expect(await plan(strict, body)).toHaveProperty('use');
  });

  it('bypasses unknown fields unless cache_unknown_fields', async () => {
    expect(await plan(strict, { ...body, top_k: 5 })).toEqual({ bypass: 'unknown fields' });
    expect(await plan(base, { ...body, top_k: 5 })).toHaveProperty('use');
  });

  it('honours skip, refresh and no-store headers', async () => {
    expect(await plan(base, body, { headers: { 'x-gateway-cache': 'skip' } })).toEqual({ bypass: 'skip requested' });
    expect(await plan(base, body, { headers: { 'cf-aig-skip-cache': 'true' } })).toEqual({ bypass: 'skip requested' });
    expect(await use(base, body)).toMatchObject({ lookup: true, store: true, ttlMs: 3_600_000 });
    expect(await use(base, body, { 'x-gateway-cache': 'refresh' })).toMatchObject({ lookup: false, store: true });
    expect(await use(base, body, { 'cache-control': 'no-cache' })).toMatchObject({ lookup: false, store: true });
    expect(await use(base, body, { 'x-gateway-cache': 'no-store' })).toMatchObject({ lookup: true, store: false });
    expect(await use(base, body, { 'cache-control': 'no-store' })).toMatchObject({ lookup: true, store: false });
  });

  it('takes a per-request TTL, clamped to [min_ttl_s, max_ttl_s]', async () => {
    expect((await use(base, body, { 'x-gateway-cache-ttl': '5' })).ttlMs).toBe(5000);
    expect((await use(base, body, { 'cf-aig-cache-ttl': '5' })).ttlMs).toBe(5000);
    expect((await use(clamped, body, { 'x-gateway-cache-ttl': '5' })).ttlMs).toBe(10_000);
    expect((await use(clamped, body, { 'x-gateway-cache-ttl': '5000' })).ttlMs).toBe(100_000);
    expect((await use(clamped, body, { 'x-gateway-cache-ttl': '50' })).ttlMs).toBe(50_000);
  });

  it('rejects a garbage TTL or cache directive with a 400', async () => {
    const bad: Record<string, string>[] = [{ 'x-gateway-cache-ttl': 'soon' }, { 'x-gateway-cache-ttl': '0' }, { 'x-gateway-cache-ttl': '-3' }, { 'cf-aig-cache-ttl': 'Infinity' }, { 'x-gateway-cache-ttl': '' }, { 'x-gateway-cache': 'maybe' }];
    for (const headers of bad) await expect(plan(base, body, { headers })).rejects.toSatisfy((e) => e instanceof GatewayError && e.status === 400);
  });
});

describe('cache key: hostile shapes (issue 9, item 16)', () => {
  /** The recursive canonical form the key format was defined with: the iterative one must match it. */
  const reference = (value: unknown): string => {
    if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
    if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
    const keys = Object.keys(value).filter((k) => (value as JsonObject)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${reference((value as JsonObject)[k])}`).join(',')}}`;
  };

  it('canonicalJson never overflows the stack, and keeps the key format', async () => {
    const levels = 200_000;
    let array: unknown = [];
    let object: unknown = {};
    for (let i = 1; i < levels; i++) {
      array = [array];
      object = { a: object };
    }
    expect(canonicalJson(array)).toBe('['.repeat(levels) + ']'.repeat(levels));
    expect(canonicalJson(object)).toBe('{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1));

    fc.assert(fc.property(fc.jsonValue(), (value) => void expect(canonicalJson(value)).toBe(reference(value))), RUNS);
    // An own __proto__ (as JSON.parse makes it) is written like any key, at any depth.
    expect(canonicalJson(JSON.parse('{"b":1,"__proto__":{"x":[1]}}'))).toBe('{"__proto__":{"x":[1]},"b":1}');
  });

  it('a top-level __proto__ is part of the key: bodies differing only in it never collide', async () => {
    // JSON.parse makes `__proto__` an own property, as it does when the gateway reads a body.
    const withProto = (body: JsonObject, value: unknown): JsonObject =>
      JSON.parse(`{"__proto__":${JSON.stringify(value)},${JSON.stringify(body).slice(1)}`) as JsonObject;
    const value = fc.jsonValue().filter((v) => v !== null); // an explicit null means "default", like leaving it out
    await prop(fc.tuple(chatBody, value, value).filter(([, a, b]) => !sameJson(a, b)), async ([body, a, b]) => {
      const plain = await keyOf(base, body);
      const keyA = await keyOf(base, withProto(body, a));
      expect(keyA).not.toBe(plain);
      expect(keyA).not.toBe(await keyOf(base, withProto(body, b)));
      expect(await keyOf(base, withProto(shuffleDeep(body, 7) as JsonObject, a))).toBe(keyA);
    });
  });
});
