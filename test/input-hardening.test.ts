import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../src/ingress/validate';
import { KEYS } from './support/constants';
import { expectError } from './support/errors';
import { gateway, postJson, postWithEnv, testEnv, upstreamSaw } from './support/gateway';

/**
 * Caller input that once made the gateway answer 500 (issue 9, items 16 and 17):
 * JSON nested deeper than any real request, a top-level `__proto__` that vanished
 * from the cache key, and malformed percent-encoding in /v1/models/{id}.
 */

const ask = (label: string) => [{ role: 'user', content: `${label} ${crypto.randomUUID()}` }];

/** `levels` nested objects, as raw JSON (building it as a value and stringifying would recurse). */
const nestedObjects = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;

/**
 * A chat body whose tool schema makes the whole body `depth` levels deep:
 * body → tools → tool → function → parameters (level 5) → ...
 */
function deepToolBody(model: string, depth: number): string {
  const head = JSON.stringify({ model, temperature: 0, messages: ask('deep tool') }).slice(0, -1);
  return `${head},"tools":[{"type":"function","function":{"name":"deep","parameters":${nestedObjects(depth - 4)}}}]}`;
}

describe('JSON nesting depth', () => {
  it.each(['cached', 'gpt-test'])('refuses a tool schema nested 3000 levels on %s with a 400 naming the limit', async (model) => {
    const res = await postJson('/v1/chat/completions', deepToolBody(model, 3000));
    const { id, error } = await expectError(res, { status: 400, code: 'invalid_request', param: 'tools', keyId: 'team-a' });
    expect(error.message).toContain(`${MAX_JSON_DEPTH} levels`);
    expect(await upstreamSaw(id)).toEqual([]);
  });

  it(`accepts exactly ${MAX_JSON_DEPTH} levels and refuses one more; brackets inside strings do not count`, async () => {
    const atLimit = await postJson('/v1/chat/completions', deepToolBody('cached', MAX_JSON_DEPTH));
    expect(atLimit.status, await atLimit.text()).toBe(200);

    const over = await postJson('/v1/chat/completions', deepToolBody('cached', MAX_JSON_DEPTH + 1));
    await expectError(over, { status: 400, code: 'invalid_request', param: 'tools', keyId: 'team-a' });

    const bracketsInText = [{ role: 'user', content: `${'[{'.repeat(500)} ${crypto.randomUUID()}` }];
    const text = await postJson('/v1/chat/completions', { model: 'cached', temperature: 0, messages: bracketsInText });
    expect(text.status, await text.text()).toBe(200);
  });

  it.each([
    ['an unknown field', 'vendor_extra', '/v1/chat/completions', { model: 'gpt-test', messages: ask('x') }],
    ['embedding input', 'input', '/v1/embeddings', { model: 'cached-embed' }],
  ])('names the top-level field for %s', async (_name, field, path, rest) => {
    const body = `${JSON.stringify(rest).slice(0, -1)},"${field}":${'['.repeat(200)}1${']'.repeat(200)}}`;
    const { id, error } = await expectError(await postJson(path, body), { status: 400, code: 'invalid_request', param: field, keyId: 'team-a' });
    expect(error.message).toContain(`${field}: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    expect(await upstreamSaw(id)).toEqual([]);
  });
});

describe('a top-level __proto__ in the cache key', () => {
  // Unknown fields bypass the cache by default; this alias keys them instead.
  const config = structuredClone(testEnv.GATEWAY_CONFIG) as unknown as { models: Record<string, { cache?: Record<string, unknown> }> };
  config.models.cached!.cache = { enabled: true, cache_unknown_fields: true };

  it('keeps it like any other field: bodies differing only in it get different keys', async () => {
    const messages = ask('proto');
    const base = JSON.stringify({ model: 'cached', temperature: 0, messages }).slice(0, -1);
    // JSON.parse makes `__proto__` an own property, as it does for the gateway reading the body.
    const variants = ['', ',"__proto__":{"x":1}', ',"__proto__":{"x":2}', ',"__proto__":"text"'].map((extra) => JSON.parse(`${base}${extra}}`));
    const keys: string[] = [];
    for (const body of variants) {
      const { res, text } = await postWithEnv('/v1/chat/completions', body, { GATEWAY_CONFIG: config });
      expect(res.status, text).toBe(200);
      expect(res.headers.get('x-gateway-cache')).toBe('MISS');
      keys.push(res.headers.get('x-gateway-cache-key')!);
    }
    expect(new Set(keys).size).toBe(variants.length);
    // The same body again gets the same key: the field is keyed, not randomized.
    const again = await postWithEnv('/v1/chat/completions', variants[1], { GATEWAY_CONFIG: config });
    expect(again.res.headers.get('x-gateway-cache-key')).toBe(keys[1]);
  });
});

describe('malformed percent-encoding in GET /v1/models/{id}', () => {
  const get = (id: string) => gateway(`/v1/models/${id}`, { headers: { authorization: `Bearer ${KEYS.teamA}` } });

  it.each(['%ZZ', '%E0%A4%A', 'fixture%2F%ZZ', 'gpt-test%', '%C0%AF'])('answers 400 invalid_request for %s, never 500', async (id) => {
    const { error, row } = await expectError(await get(id), { status: 400, code: 'invalid_request', param: 'model', keyId: 'team-a' });
    expect(error.message).toContain('percent-encoding');
    expect(row.model).toBe(id);

    // The same id, properly encoded (as the openai client sends it), is decoded and is simply an unknown model.
    const encoded = await get(encodeURIComponent(id));
    await expectError(encoded, { status: 404, code: 'model_not_found', param: 'model', keyId: 'team-a' });
  });
});
