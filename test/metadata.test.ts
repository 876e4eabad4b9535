import OpenAI from 'openai';
import { describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../src/config/load';
import { KEYS } from './support/constants';
import { client, logRow, postJson, testEnv, upstreamSaw } from './support/gateway';
import { expectError } from './support/errors';
import { testGatewayConfig } from './support/test-config';

const TAGGED_KEY = 'sk-gw-tagged-0123456789';
const ask = (text: string) => ({ model: 'gpt-test', messages: [{ role: 'user' as const, content: text }] });

async function metadataOf(requestId: string): Promise<unknown> {
  const row = (await logRow(requestId)) as unknown as { metadata: string | null };
  return row.metadata === null ? null : JSON.parse(row.metadata);
}

describe('metadata tags', () => {
  it('stores the tags a caller sends in x-gateway-metadata, queryable with json_extract, and does not forward them', async () => {
    const tags = { user: 'u-42', feature: 'search', attempt: 3, beta: true, 'ab-test': 'b' };
    const tagged = client().withOptions({ defaultHeaders: { 'x-gateway-metadata': JSON.stringify(tags) } });
    const { data, response } = await tagged.chat.completions.create(ask('tag me')).withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: tag me');
    const id = response.headers.get('x-request-id')!;
    expect(await metadataOf(id)).toEqual(tags);

    const found = await testEnv.DB.prepare(
      `SELECT json_extract(metadata, '$.user') AS user, json_extract(metadata, '$.attempt') AS attempt, json_extract(metadata, '$.beta') AS beta,
         json_extract(metadata, '$.ab-test') AS variant
       FROM calls WHERE request_id = ?1 AND json_extract(metadata, '$.feature') = 'search'`,
    ).bind(id).first();
    expect(found).toEqual({ user: 'u-42', attempt: 3, beta: 1, variant: 'b' });

    const [seen] = await upstreamSaw(id);
    expect(Object.keys(seen!.headers)).not.toContain('x-gateway-metadata');
    expect(seen!.body).toEqual(ask('tag me'));
  });

  it('adds the key\'s configured tags; they win over a caller tag of the same name', async () => {
    const plain = await client(TAGGED_KEY).chat.completions.create(ask('key tags')).withResponse();
    expect(await metadataOf(plain.response.headers.get('x-request-id')!)).toEqual({ team: 'search', tier: 2 });

    const both = await client(TAGGED_KEY)
      .chat.completions.create(ask('both tags'), { headers: { 'x-gateway-metadata': '{"user":"u-7","team":"finance"}' } })
      .withResponse();
    expect(await metadataOf(both.response.headers.get('x-request-id')!)).toEqual({ user: 'u-7', team: 'search', tier: 2 });
  });

  it('accepts cf-aig-metadata as an alias; x-gateway-metadata wins when both are sent', async () => {
    const alias = await client().chat.completions.create(ask('alias'), { headers: { 'cf-aig-metadata': '{"app":"cf"}' } }).withResponse();
    expect(await metadataOf(alias.response.headers.get('x-request-id')!)).toEqual({ app: 'cf' });

    const res = await postJson('/v1/chat/completions', ask('both headers'), KEYS.teamA, {
      'cf-aig-metadata': '{"app":"cf"}',
      'x-gateway-metadata': '{"app":"gateway"}',
    });
    expect(res.status).toBe(200);
    expect(await metadataOf(res.headers.get('x-request-id')!)).toEqual({ app: 'gateway' });
  });

  it('stores NULL for a call without tags, and for an empty object', async () => {
    const none = await postJson('/v1/chat/completions', ask('no tags'));
    expect(await metadataOf(none.headers.get('x-request-id')!)).toBeNull();
    const empty = await postJson('/v1/chat/completions', ask('empty tags'), KEYS.teamA, { 'x-gateway-metadata': '{}' });
    expect(empty.status).toBe(200);
    expect(await metadataOf(empty.headers.get('x-request-id')!)).toBeNull();
  });

  it('reads a UTF-8 header as UTF-8, and a Latin-1 byte as the char a JavaScript client meant', async () => {
    const utf8 = String.fromCharCode(...new TextEncoder().encode('{"city":"Zürich 東京"}'));
    const fromCurl = await postJson('/v1/chat/completions', ask('utf8'), KEYS.teamA, { 'x-gateway-metadata': utf8 });
    expect(fromCurl.status).toBe(200);
    expect(await metadataOf(fromCurl.headers.get('x-request-id')!)).toEqual({ city: 'Zürich 東京' });

    const fromJs = await client().chat.completions.create(ask('latin1'), { headers: { 'x-gateway-metadata': '{"city":"Zürich"}' } }).withResponse();
    expect(await metadataOf(fromJs.response.headers.get('x-request-id')!)).toEqual({ city: 'Zürich' });
  });

  const INVALID: [string, string, RegExp][] = [
    ['not JSON', '{user: 1}', /is not valid JSON/],
    ['an array', '["a"]', /must be a JSON object/],
    ['a nested value', '{"user":{"id":1}}', /tag "user": tag values must be strings, numbers or booleans/],
    ['a null value', '{"user":null}', /tag "user"/],
    ['a name with a space', '{"user id":"x"}', /tag "user id": tag names must be/],
    ['a name that could reach the prototype', '{"__proto__":"x"}', /tag "__proto__": tag names must be/],
    ['17 tags', JSON.stringify(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`t${i}`, i]))), /must have at most 16 tags/],
    ['1025 bytes', JSON.stringify({ note: 'x'.repeat(1014) }), /is 1025 bytes; at most 1024/],
  ];
  for (const [what, header, message] of INVALID) {
    it(`refuses ${what} with a 400 invalid_metadata naming the header, before any upstream call`, async () => {
      const res = await postJson('/v1/chat/completions', ask(`bad tags: ${what}`), KEYS.teamA, { 'x-gateway-metadata': header });
      const { error, row, id } = await expectError(res, { status: 400, code: 'invalid_metadata', param: 'x-gateway-metadata', keyId: 'team-a' });
      expect(error.message).toMatch(message);
      expect((row as unknown as { metadata: string | null }).metadata).toBeNull();
      expect(await upstreamSaw(id)).toEqual([]);
    });
  }

  it('is an OpenAI-shaped error the openai client raises as BadRequestError, for the alias header too', async () => {
    const error = await client()
      .chat.completions.create(ask('bad alias'), { headers: { 'cf-aig-metadata': 'nope' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_metadata', param: 'cf-aig-metadata', type: 'invalid_request_error' });
  });

  it('checks a key\'s configured tags when the config loads', () => {
    const config = testGatewayConfig(1);
    const withTags = (metadata: unknown) => parseConfig({ ...config, keys: { ...config.keys, tagged: { secrets: ['KEY_TAGGED'], metadata } } });
    expect(withTags({ team: 'a', n: 1, ok: false }).ok).toBe(true);
    expect(withTags({ 'bad name': 'a' })).toMatchObject({ ok: false, field: 'GATEWAY_CONFIG.keys.tagged.metadata["bad name"]' });
    expect(withTags({ team: ['a'] })).toMatchObject({ ok: false, error: expect.stringContaining('tag values must be strings, numbers or booleans') });
    expect(withTags({ long: 'x'.repeat(1100) })).toMatchObject({ ok: false, error: expect.stringContaining('at most 1024 bytes') });
  });
});

describe("the README's metadata recipes", () => {
  const queries = inject('readmeQueries');
  const find = (text: string) => queries.find((q) => q.includes(text)) ?? '';

  it('sum calls, tokens and spend per tag value, and list one user\'s calls', async () => {
    const now = Date.now();
    const insert = testEnv.DB.prepare(
      `INSERT INTO calls (request_id, ts, key_id, endpoint, model, status, latency_ms, prompt_tokens, completion_tokens, cost_usd, metadata)
       VALUES (?1, ?2, 'readme-tags', 'chat.completions', 'm', 200, 5, ?3, ?4, ?5, ?6)`,
    );
    await testEnv.DB.batch([
      insert.bind('tags-1', new Date(now - 1000).toISOString(), 10, 5, 0.25, '{"team":"readme-alpha","user":"readme-u1"}'),
      insert.bind('tags-2', new Date(now - 2000).toISOString(), 20, 10, 0.5, '{"team":"readme-alpha","user":"readme-u2"}'),
      insert.bind('tags-3', new Date(now - 3000).toISOString(), 1, 1, 0.125, '{"team":"readme-beta","user":"readme-u1"}'),
      // Older than the recipe's week: not counted.
      insert.bind('tags-4', new Date(now - 8 * 86_400_000).toISOString(), 1, 1, 1, '{"team":"readme-alpha"}'),
    ]);
    const perTeam = await testEnv.DB.prepare(find("'$.team'")).all();
    expect(perTeam.results.filter((r) => String(r.team).startsWith('readme-'))).toEqual([
      { team: 'readme-alpha', calls: 2, prompt_tokens: 30, completion_tokens: 15, spent_usd: 0.75 },
      { team: 'readme-beta', calls: 1, prompt_tokens: 1, completion_tokens: 1, spent_usd: 0.125 },
    ]);
    const oneUser = find("'$.user'");
    expect(oneUser).toContain("'u-42'");
    const forU1 = await testEnv.DB.prepare(oneUser.replace("'u-42'", "'readme-u1'")).all();
    expect(forU1.results.map((r) => r.request_id)).toEqual(['tags-1', 'tags-3']);
  });
});
