import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { KEYS } from './support/constants';
import { clientError, expectError } from './support/errors';
import { client, gateway, logRow, postJson, upstreamSaw } from './support/gateway';

/**
 * Errors the gateway itself raises (body, schema, auth, policy, routing, method,
 * size). Every answer must be OpenAI-shaped, carry x-request-id, leak nothing, and
 * leave exactly the D1 row that describes it. Upstream faults: upstream-errors.test.ts.
 */


const hello = [{ role: 'user', content: 'hello' }];

describe('request bodies', () => {
  it.each([
    ['truncated JSON', '{"model": "gpt-test", "messages": ['],
    ['not JSON at all', 'model=gpt-test'],
    ['an empty body', ''],
  ])('answers 400 invalid_json for %s', async (_name, raw) => {
    const res = await postJson('/v1/chat/completions', raw);
    const { error } = await expectError(res, { status: 400, code: 'invalid_json', keyId: 'team-a' });
    expect(error.message).not.toContain('model=gpt-test');
  });

  it.each([
    ['a JSON array', '[{"model":"gpt-test"}]'],
    ['a JSON string', '"gpt-test"'],
    ['JSON null', 'null'],
  ])('answers 400 for %s instead of an object', async (_name, raw) => {
    await expectError(await postJson('/v1/chat/completions', raw), { status: 400, code: 'invalid_json', keyId: 'team-a' });
  });

  it.each([
    ['chat without messages', '/v1/chat/completions', { model: 'gpt-test' }, 'messages'],
    ['chat with empty messages', '/v1/chat/completions', { model: 'gpt-test', messages: [] }, 'messages'],
    ['chat without model', '/v1/chat/completions', { messages: hello }, 'model'],
    ['an unknown role', '/v1/chat/completions', { model: 'gpt-test', messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
    ['temperature out of range', '/v1/chat/completions', { model: 'gpt-test', messages: hello, temperature: 5 }, 'temperature'],
    ['a bad encoding_format', '/v1/embeddings', { model: 'embed-test', input: 'hi', encoding_format: 'hex' }, 'encoding_format'],
  ])('answers 400 invalid_request naming the field for %s', async (_name, path, body, param) => {
    const res = await postJson(path, body);
    const { id, error } = await expectError(res, { status: 400, code: 'invalid_request', param, keyId: 'team-a' });
    expect(error.message).toContain(param);
    expect(await upstreamSaw(id)).toEqual([]);
  });

  it('surfaces schema errors as BadRequestError in the openai client', async () => {
    const err = await clientError(client().chat.completions.create({ model: 'gpt-test', messages: [], temperature: 9 }));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.status).toBe(400);
    expect(err.code).toBe('invalid_request');
    expect(err.param).toBe('messages');
    expect((await logRow(err.requestID!)).error_code).toBe('invalid_request');
  });

  it('passes unknown fields upstream untouched, replacing only the model', async () => {
    const sent = { model: 'gpt-test', messages: hello, top_k: 7, repetition_penalty: 1.1, vendor: { nested: [1, 'a'] } };
    const res = await postJson('/v1/chat/completions', sent);
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id')!;
    const seen = await upstreamSaw(id);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.body).toEqual({ ...sent, model: 'gpt-test' });
    expect(Object.keys(seen[0]!.body)).toEqual(Object.keys(sent));
    expect((await logRow(id)).status).toBe(200);

    // A direct address makes the replacement visible: `fixture/echo-model` goes up as `echo-model`.
    const direct = await postJson('/v1/chat/completions', { ...sent, model: 'fixture/echo-model' });
    expect(direct.status).toBe(200);
    const [up] = await upstreamSaw(direct.headers.get('x-request-id')!);
    expect(up!.body).toEqual({ ...sent, model: 'echo-model' });
  });
});

describe('authentication', () => {
  it('answers 401 missing_api_key without an Authorization header', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'gpt-test', messages: hello }, null);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    const { id } = await expectError(res, { status: 401, code: 'missing_api_key', keyId: null });
    expect(await upstreamSaw(id)).toEqual([]);
  });

  it('answers 401 missing_api_key for a non-Bearer scheme', async () => {
    const res = await gateway('/v1/models', { headers: { authorization: `Basic ${KEYS.teamA}` } });
    await expectError(res, { status: 401, code: 'missing_api_key', keyId: null });
  });

  it.each(['x-api-key', 'x-goog-api-key'])('accepts the key as %s (native SDKs), and never forwards it', async (header) => {
    const res = await gateway('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', [header]: KEYS.teamA },
      body: JSON.stringify({ model: 'gpt-test', messages: hello }),
    });
    expect(res.status).toBe(200);
    const [seen] = await upstreamSaw(res.headers.get('x-request-id')!);
    expect(JSON.stringify(seen!.headers)).not.toContain(KEYS.teamA);
    expect((await logRow(res.headers.get('x-request-id')!)).key_id).toBe('team-a');
  });

  it('refuses a wrong x-api-key like a wrong bearer token', async () => {
    const res = await gateway('/v1/models', { headers: { 'x-api-key': 'sk-gw-not-a-real-key-0123456789' } });
    await expectError(res, { status: 401, code: 'invalid_api_key', keyId: null });
  });

  it.each([
    ['an unknown key', 'sk-gw-not-a-real-key-0123456789'],
    ['a near miss of a real key', `${KEYS.teamA}0`],
  ])('answers 401 invalid_api_key for %s and never echoes it', async (_name, key) => {
    const res = await postJson('/v1/chat/completions', { model: 'gpt-test', messages: hello }, key);
    const headerText = [...res.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
    const { id, text } = await expectError(res, { status: 401, code: 'invalid_api_key', keyId: null });
    expect(text).not.toContain(key);
    expect(headerText).not.toContain(key);
    expect(await upstreamSaw(id)).toEqual([]);
  });

  it('raises AuthenticationError in the openai client', async () => {
    const wrong = 'sk-gw-wrong-client-key-abcdef';
    for (const call of [
      () => client(wrong).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }),
      () => client(wrong).models.list(),
    ]) {
      const err = await clientError(call());
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(err.status).toBe(401);
      expect(err.code).toBe('invalid_api_key');
      expect(err.message).not.toContain(wrong);
      const row = await logRow(err.requestID!);
      expect(row).toMatchObject({ status: 401, error_code: 'invalid_api_key', key_id: null });
    }
  });
});

describe('key policy and model routing', () => {
  it('answers 403 model_not_allowed when the key may not use the alias', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'demo', messages: hello }, KEYS.teamB);
    const { id, row } = await expectError(res, { status: 403, code: 'model_not_allowed', param: 'model', keyId: 'team-b' });
    expect(row.model).toBe('demo');
    expect(await upstreamSaw(id)).toEqual([]);

    const err = await clientError(client(KEYS.teamB).chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'x' }] }));
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.code).toBe('model_not_allowed');
    expect((await logRow(err.requestID!)).key_id).toBe('team-b');
  });

  it('lets the same key use a provider it is allowed wholesale (fixture/*)', async () => {
    const { data, response } = await client(KEYS.teamB)
      .chat.completions.create({ model: 'fixture/anything', messages: [{ role: 'user', content: 'hi b' }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: hi b');
    const row = await logRow(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ status: 200, error_code: null, key_id: 'team-b', provider: 'fixture', upstream_model: 'anything' });
  });

  it.each(['no-such-model', 'nope/model', 'fixture', 'fixture/'])('answers 404 model_not_found for %s', async (model) => {
    const res = await postJson('/v1/chat/completions', { model, messages: hello });
    const { id, row } = await expectError(res, { status: 404, code: 'model_not_found', param: 'model', keyId: 'team-a' });
    expect(row.model).toBe(model);
    expect(await upstreamSaw(id)).toEqual([]);
  });

  it('raises NotFoundError in the openai client for an unknown model', async () => {
    const err = await clientError(client().embeddings.create({ model: 'no-such-embedder', input: 'x' }));
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe('model_not_found');
    expect(err.param).toBe('model');
    expect((await logRow(err.requestID!)).status).toBe(404);
  });

  it.each([
    ['GET', '/v1/nothing'],
    ['POST', '/v1/chat/completion'],
    ['GET', '/nothing'],
  ])('answers 404 unknown_url for %s %s', async (method, path) => {
    const res = await gateway(path, { method, headers: { authorization: `Bearer ${KEYS.teamA}` } });
    await expectError(res, { status: 404, code: 'unknown_url' });
  });
});

describe('methods', () => {
  it.each([
    ['GET', '/v1/chat/completions', 'POST'],
    ['PUT', '/v1/embeddings', 'POST'],
    ['DELETE', '/v1/models', 'GET'],
    ['POST', '/healthz', 'GET'],
  ])('answers 405 for %s %s with an allow header', async (method, path, allowed) => {
    const res = await gateway(path, { method, headers: { authorization: `Bearer ${KEYS.teamA}` } });
    const allow = res.headers.get('allow');
    await expectError(res, { status: 405, code: 'method_not_allowed' });
    expect(allow?.split(/,\s*/)).toContain(allowed);
    expect(allow?.split(/,\s*/)).not.toContain(method);
  });
});

describe('body size cap (max_body_bytes = 65536)', () => {
  const CAP = 64 * 1024;

  it('answers 413 for a declared Content-Length over the cap', async () => {
    const body = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'x'.repeat(CAP) }] });
    const res = await postJson('/v1/chat/completions', body);
    const { id, error } = await expectError(res, { status: 413, code: 'request_too_large', keyId: 'team-a' });
    expect(error.message).toContain(String(CAP));
    expect(await upstreamSaw(id)).toEqual([]);
  });

  it('accepts a body just under the cap', async () => {
    const content = 'y'.repeat(CAP - 200);
    const res = await postJson('/v1/chat/completions', { model: 'gpt-test', messages: [{ role: 'user', content }] });
    expect(res.status).toBe(200);
    expect((await logRow(res.headers.get('x-request-id')!)).status).toBe(200);
  });

  it('stops reading a streamed body without Content-Length once it passes the cap', async () => {
    const CHUNK = 64 * 1024;
    const TOTAL_CHUNKS = 160; // 10 MiB if read to the end
    const chunk = new TextEncoder().encode(`{"model":"gpt-test","pad":"${'z'.repeat(CHUNK - 26)}`).slice(0, CHUNK);
    const filler = new Uint8Array(CHUNK).fill(0x7a);
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= TOTAL_CHUNKS) return controller.close();
        controller.enqueue(pulled === 0 ? chunk : filler);
        pulled++;
      },
    }, { highWaterMark: 0 });
    const res = await gateway('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.teamA}` },
      body,
    });
    await expectError(res, { status: 413, code: 'request_too_large', keyId: 'team-a' });
    // The cap is one chunk; allow for pipe buffering between the test and the Worker (1 MiB), not 10 MiB.
    expect(pulled).toBeLessThanOrEqual(16);
  });
});
