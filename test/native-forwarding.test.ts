import { createExecutionContext } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import gatewayWorker from '../src/index';
import { ANTHROPIC_CREDENTIAL } from './support/anthropic-config';
import { KEYS } from './support/constants';
import { BASE, client, logRow, postJson, testEnv, upstreamSaw, type RecordedRequest, type TestEnv } from './support/gateway';
import { guardKey, guardrailsBindings } from './support/guardrails-config';
import { RESPONSES_CREDENTIAL, RESPONSES_USAGE } from './support/native-forwarding-config';
import { limitedKey } from './support/test-config';

/**
 * Native forwarding (src/passthrough/native.ts): a `/v1/messages` call routed to one
 * Anthropic target alone, or a `/v1/responses` call routed to one OpenAI target alone,
 * reaches the provider's own endpoint as written (only `model` replaced), through
 * the passthrough machinery. Aliases: test/support/native-forwarding-config.ts.
 */

/** What the Anthropic fixture reports for "prompt-cache" models (test/fixtures/native/anthropic.ts). */
const CACHE_READ_TOKENS = 3000;
const CACHE_WRITE_TOKENS = 1000;

const idOf = (res: Response) => res.headers.get('x-request-id')!;

async function onlyRequest(requestId: string): Promise<RecordedRequest> {
  const seen = await upstreamSaw(requestId);
  expect(seen).toHaveLength(1);
  return seen[0]!;
}

/** The Anthropic fixture's signature of the thinking below (thinkingSignature in test/fixtures/native/anthropic-validate.ts), which it checks as Anthropic does. */
const SIGNATURE = 'EqFixturesWQiGbcloddhw+/OcMSJ25AWFeAh8dK2FdQMxPBOzOk=';

/** What translation to the chat shape would drop: cache_control, a thinking block and its signature, the thinking setting. */
const MESSAGES_BODY = {
  model: 'native-claude',
  // Above the thinking budget, as Anthropic requires.
  max_tokens: 2048,
  thinking: { type: 'enabled', budget_tokens: 1024 },
  system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'first question', cache_control: { type: 'ephemeral', ttl: '1h' } }] },
    { role: 'assistant', content: [{ type: 'thinking', thinking: 'The user asks twice.', signature: SIGNATURE }, { type: 'text', text: 'first answer' }] },
    { role: 'user', content: 'second question' },
  ],
};

describe('/v1/messages to a single Anthropic target is forwarded natively', () => {
  it('sends the caller body unchanged but for the model, with the provider credential, and answers the provider bytes', async () => {
    const res = await postJson('/v1/messages', MESSAGES_BODY, KEYS.teamA, { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'prompt-caching-2024-07-31' });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const seen = await onlyRequest(idOf(res));
    expect(seen.path).toBe('/anthropic/v1/messages');
    expect(seen.body).toEqual({ ...MESSAGES_BODY, model: 'claude-fx-prompt-cache' });
    expect(seen.headers['x-api-key']).toBe(ANTHROPIC_CREDENTIAL);
    expect(seen.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(JSON.stringify(seen.headers)).not.toContain(KEYS.teamA);
    // The fixture's own answer (its id, model and usage), not a translation of it.
    const answer = JSON.parse(text);
    expect(answer).toMatchObject({
      type: 'message', model: 'claude-fx-prompt-cache',
      content: [{ type: 'thinking', thinking: 'Thinking about second question (budget 1024)' }, { type: 'text', text: 'echo: second question' }],
    });
    expect(answer.usage).toMatchObject({ cache_read_input_tokens: CACHE_READ_TOKENS, cache_creation_input_tokens: CACHE_WRITE_TOKENS });
    expect(text).not.toContain(ANTHROPIC_CREDENTIAL);

    const row = await logRow(idOf(res));
    expect(row).toMatchObject({ endpoint: 'messages', model: 'native-claude', provider: 'anthropic', upstream_model: 'claude-fx-prompt-cache', status: 200 });
    expect(row.prompt_tokens).toBe(answer.usage.input_tokens + CACHE_READ_TOKENS + CACHE_WRITE_TOKENS);
    expect(row.completion_tokens).toBe(answer.usage.output_tokens);
    expect((row as unknown as { cached_tokens: number }).cached_tokens).toBe(CACHE_READ_TOKENS);
  });

  it('relays a stream as the provider sent it, and logs its usage', async () => {
    const body = { ...MESSAGES_BODY, stream: true };
    const res = await postJson('/v1/messages', body, KEYS.teamA, { 'anthropic-version': '2023-06-01' });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    // Anthropic's own events, in its order, with its model name: untranslated.
    const events = [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    expect(events[0]).toBe('message_start');
    expect(events.at(-1)).toBe('message_stop');
    expect(text).toContain('"model":"claude-fx-prompt-cache"');
    expect(text).not.toContain('chat.completion');
    expect((await onlyRequest(idOf(res))).body).toEqual({ ...body, model: 'claude-fx-prompt-cache' });
    const row = await logRow(idOf(res));
    expect(row).toMatchObject({ endpoint: 'messages', provider: 'anthropic', stream: 1 });
    expect((row as unknown as { cached_tokens: number }).cached_tokens).toBe(CACHE_READ_TOKENS);
    expect(row.completion_tokens).toBeGreaterThan(0);
  });

  it("passes the provider's error through in its own shape", async () => {
    const viaAlias = await postJson('/v1/messages', { ...MESSAGES_BODY, messages: [{ role: 'user', content: [{ type: 'nonsense' }] }] });
    expect(viaAlias.status).toBe(400);
    expect(await viaAlias.json()).toEqual({
      type: 'error', error: { type: 'invalid_request_error', message: "messages.0.content.0.type: Input tag 'nonsense' does not match any of the expected tags" }, request_id: 'req_fx_anthropic',
    });
  });

  it("applies the key's limits and model permission, not its passthrough list", async () => {
    const key = limitedKey('requests');
    const body = { model: 'native-claude', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };
    for (let i = 0; i < 5; i++) expect((await postJson('/v1/messages', body, key)).status).toBe(200);
    const refused = await postJson('/v1/messages', body, key);
    expect(refused.status).toBe(429);
    expect(await upstreamSaw(idOf(refused))).toHaveLength(0);
    expect(await logRow(idOf(refused))).toMatchObject({ endpoint: 'messages', status: 429 });

    // teamB may use only some models (test-config.ts): native-claude is not one of them.
    const denied = await postJson('/v1/messages', body, KEYS.teamB);
    expect(denied.status).toBe(403);
    expect(await upstreamSaw(idOf(denied))).toHaveLength(0);
  });

  it('translates a route of two targets, so the second one answers when the first fails', async () => {
    const res = await postJson('/v1/messages', { model: 'native-claude-pair', max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] });
    const answer = await res.json<{ type: string; content: { type: string; text: string }[] }>();
    expect(res.status).toBe(200);
    expect(answer.type).toBe('message');
    const seen = await upstreamSaw(idOf(res));
    expect(seen.map((r) => r.path)).toEqual(['/anthropic/v1/messages', '/openai/v1/chat/completions']);
    expect(await logRow(idOf(res))).toMatchObject({ provider: 'openai', upstream_model: 'gpt-test' });
  });

  it('translates when native forwarding is off for the alias, or for a provider/model address by routing.native_forwarding', async () => {
    for (const model of ['native-claude-off', 'anthropic/claude-fx']) {
      const res = await postJson('/v1/messages', { ...MESSAGES_BODY, model });
      expect(res.status).toBe(200);
      // Translation drops the thinking block (and its signature) and cache_control.
      const sent = JSON.stringify((await onlyRequest(idOf(res))).body);
      expect(sent).toContain('second question');
      expect(sent).not.toContain(SIGNATURE);
      expect(sent).not.toContain('"ttl"');
    }
  });
});

describe('calls with guardrails are translated, never forwarded unscreened', () => {
  const guardedEnv = { ...testEnv, ...guardrailsBindings(inject('upstreamPort')) } as TestEnv;
  const send = (key: string, body: unknown) =>
    gatewayWorker.fetch(new Request(`${BASE}/v1/messages`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) }), guardedEnv, createExecutionContext());

  it("a key's blocking guardrail refuses the call before any provider sees it", async () => {
    const res = await send(guardKey('words'), { ...MESSAGES_BODY, messages: [{ role: 'user', content: 'the forbidden word' }] });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('guardrail');
    expect(await upstreamSaw(idOf(res))).toHaveLength(0);
  });

  it('a gateway-wide default guardrail makes a single-target route translate', async () => {
    const res = await send(guardKey('plain'), MESSAGES_BODY);
    expect(res.status).toBe(200);
    expect(JSON.stringify((await onlyRequest(idOf(res))).body)).not.toContain('sig-EqQBCkYIBxgCKkD');
  });
});

describe('/v1/responses to a single OpenAI target is forwarded natively', () => {
  it('forwards built-in tools the translating path refuses, through the openai client', async () => {
    const refused = await client().responses.create({ model: 'native-gpt-off', input: 'look it up', tools: [{ type: 'web_search' }] }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 400 });

    const { data: response, response: raw } = await client()
      .responses.create({ model: 'native-gpt', input: 'look it up', tools: [{ type: 'web_search' }], previous_response_id: 'resp_earlier', store: true })
      .withResponse();
    expect(response.output_text).toBe('echo: look it up');
    expect(response.model).toBe('gpt-fx-responses');
    expect(response.usage).toEqual(RESPONSES_USAGE);
    const seen = await onlyRequest(raw.headers.get('x-request-id')!);
    expect(seen.path).toBe('/openai-responses/v1/responses');
    expect(seen.body).toEqual({ model: 'gpt-fx-responses', input: 'look it up', tools: [{ type: 'web_search' }], previous_response_id: 'resp_earlier', store: true });
    expect(seen.headers.authorization).toBe(`Bearer ${RESPONSES_CREDENTIAL}`);
    expect(JSON.stringify(seen.headers)).not.toContain(KEYS.teamA);

    const row = await logRow(raw.headers.get('x-request-id')!);
    expect(row).toMatchObject({ endpoint: 'responses', model: 'native-gpt', provider: 'openai-responses', upstream_model: 'gpt-fx-responses', status: 200 });
    expect(row).toMatchObject({ prompt_tokens: RESPONSES_USAGE.input_tokens, completion_tokens: RESPONSES_USAGE.output_tokens });
    expect((row as unknown as { cached_tokens: number }).cached_tokens).toBe(RESPONSES_USAGE.input_tokens_details.cached_tokens);
  });

  it('relays the event stream unchanged and reads its usage', async () => {
    const { data: stream, response: raw } = await client().responses.create({ model: 'native-gpt', input: 'stream it', stream: true }).withResponse();
    const types: string[] = [];
    let completed: { usage?: unknown } | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(types).toEqual(['response.created', 'response.output_text.delta', 'response.completed']);
    expect(completed?.usage).toEqual(RESPONSES_USAGE);
    const id = raw.headers.get('x-request-id')!;
    expect((await onlyRequest(id)).body).toEqual({ model: 'gpt-fx-responses', input: 'stream it', stream: true });
    const row = await logRow(id);
    expect(row).toMatchObject({ endpoint: 'responses', stream: 1, prompt_tokens: 40, completion_tokens: 6 });
  });

  it("passes the provider's error through in OpenAI's shape", async () => {
    const failure = await client().responses.create({ model: 'native-gpt-fault', input: 'x' }).catch((e: unknown) => e);
    expect(failure).toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'temperature' });
  });

  it('refuses what is not a JSON object with a model before forwarding', async () => {
    const res = await postJson('/v1/responses', '[1,2]');
    expect(res.status).toBe(400);
    expect(await upstreamSaw(idOf(res))).toHaveLength(0);
  });
});
