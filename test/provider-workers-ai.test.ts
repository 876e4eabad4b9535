import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { ProviderConfigSchema } from '../src/providers/registry';
import { KEYS } from './support/constants';
import { clientError, expectError } from './support/errors';
import { client, gateway, logRow, postJson, upstreamSaw, upstreamSawHangUp, type RecordedRequest } from './support/gateway';
import { PT_KEYS } from './support/passthrough-config';
import { WAI_ACCOUNT_ID, WAI_TOKEN } from './support/workers-ai-config';

/**
 * Workers AI through the real openai client: REST against the OpenAI-compatible
 * endpoints, and the `AI` binding, whose stand-in (test/fixtures/workers-ai-binding.mjs,
 * a wrapped binding as workerd's own) posts what workerd's binding posts to the
 * fixture (test/fixtures/native/workers-ai.ts), which answers in the native shapes.
 */

type Row = Awaited<ReturnType<typeof logRow>> & { usage_source: string | null };

const LLAMA = '@cf/meta/llama-3.1-8b-instruct';
const hello = [{ role: 'user' as const, content: 'hello from the tests' }];
/** The fixture's reply to `hello`: 5 prompt tokens (4 words + 1 per message), 7 completion tokens. */
const HEARD = 'Workers AI heard: hello from the tests';
const HELLO_USAGE = { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 };

async function onlyRequest(id: string): Promise<RecordedRequest> {
  const seen = await upstreamSaw(id);
  expect(seen).toHaveLength(1);
  return seen[0]!;
}

function expectNoSecrets(text: string): void {
  for (const secret of [WAI_TOKEN, KEYS.teamA]) expect(text).not.toContain(secret);
}

function decode(base64: string): number[] {
  return Array.from(new Float32Array(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)).buffer));
}

describe('Workers AI over REST (OpenAI-compatible endpoints)', () => {
  it('posts chat to /accounts/{id}/ai/v1/chat/completions with the API token as the bearer', async () => {
    const { data, response } = await client().chat.completions.create({ model: `wai/${LLAMA}`, messages: hello }).withResponse();
    const id = response.headers.get('x-request-id')!;
    const seen = await onlyRequest(id);
    expect(seen.path).toBe(`/workers-ai/client/v4/accounts/${WAI_ACCOUNT_ID}/ai/v1/chat/completions`);
    expect(seen.headers.authorization).toBe(`Bearer ${WAI_TOKEN}`);
    expect(seen.headers['x-request-id']).toBe(id);
    expect(seen.body).toEqual({ model: LLAMA, messages: hello });
    expect(data.choices[0]).toMatchObject({ message: { role: 'assistant', content: HEARD }, finish_reason: 'stop' });
    expect(data.usage).toEqual(HELLO_USAGE);
    const row = await logRow(id);
    expect(row).toMatchObject({ provider: 'wai', upstream_model: LLAMA, status: 200, prompt_tokens: 5, completion_tokens: 7 });
    expect(row.cost_usd).toBeCloseTo((5 * 0.28 + 7 * 0.83) / 1e6, 12);
  });

  it('streams with usage asked for, and embeds', async () => {
    const { data: stream, response } = await client().chat.completions.create({ model: `wai/${LLAMA}`, messages: hello, stream: true }).withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(HEARD);
    const id = response.headers.get('x-request-id')!;
    expect((await onlyRequest(id)).body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect((await logRow(id)) as Row).toMatchObject({ prompt_tokens: 5, completion_tokens: 7, usage_source: 'provider' });

    const { data: list, response: embedded } = await client().embeddings.create({ model: 'wai/@cf/baai/bge-base-en-v1.5', input: 'one' }).withResponse();
    const seen = await onlyRequest(embedded.headers.get('x-request-id')!);
    expect(seen.path).toBe(`/workers-ai/client/v4/accounts/${WAI_ACCOUNT_ID}/ai/v1/embeddings`);
    expect(list.data[0]!.embedding).toEqual([0.06, 0.02, 0.04, 2.22].map(Math.fround));
  });

  it('reads the account id from its secret, and refuses one that is not an account id', async () => {
    const { response } = await client().chat.completions.create({ model: `wai-secret/${LLAMA}`, messages: hello }).withResponse();
    expect((await onlyRequest(response.headers.get('x-request-id')!)).path).toBe(`/workers-ai/client/v4/accounts/${WAI_ACCOUNT_ID}/ai/v1/chat/completions`);

    const res = await postJson('/v1/chat/completions', { model: `wai-bad-account/${LLAMA}`, messages: hello });
    const { id, error, text } = await expectError(res, { status: 502, code: 'upstream_failed' });
    expect(error.message).toBe('Provider "wai-bad-account" has no Workers AI account id configured');
    expect(text).not.toContain('zones');
    expect(await upstreamSaw(id)).toEqual([]);
  });

  it("turns Cloudflare's error envelope into our errors: 429 upstream_rate_limited with its wait", async () => {
    const res = await postJson('/v1/chat/completions', { model: 'wai/@cf/fixture/fault-429', messages: hello });
    expect(res.headers.get('retry-after')).toBe('1');
    const { error, text } = await expectError(res, { status: 429, code: 'upstream_rate_limited', type: 'rate_limit_error' });
    expect(error.message).toBe('Provider "wai" answered 429 (3040): Capacity temporarily exceeded, please try again.');
    expectNoSecrets(text);
  });
});

describe('Workers AI through the AI binding', () => {
  it("runs chat with the native inputs and answers OpenAI's chat.completion with the model's usage", async () => {
    const { data, response } = await client()
      .chat.completions.create({ model: 'wai-chat', messages: hello, max_completion_tokens: 64, temperature: 0.2, user: 'u-1' })
      .withResponse();
    const id = response.headers.get('x-request-id')!;
    const seen = await onlyRequest(id);
    expect(seen.path).toBe('/workers-ai/binding/run');
    expect(seen.headers['cf-consn-model-id']).toBe(LLAMA);
    expect(seen.headers['x-request-id']).toBe(id);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.body).toEqual({ inputs: { messages: hello, temperature: 0.2, max_tokens: 64 }, options: {} });

    expect(data).toMatchObject({ id: `chatcmpl-${id}`, object: 'chat.completion', model: LLAMA });
    expect(data.choices).toEqual([{ index: 0, message: { role: 'assistant', content: HEARD, refusal: null }, logprobs: null, finish_reason: 'stop' }]);
    expect(data.usage).toEqual(HELLO_USAGE);
    expect((await logRow(id)) as Row).toMatchObject({ provider: 'wai-binding', status: 200, prompt_tokens: 5, completion_tokens: 7, usage_source: 'provider' });
  });

  it('says the answer was cut (length) when it used all of max_tokens', async () => {
    const answer = await client().chat.completions.create({ model: 'wai-chat', messages: hello, max_tokens: 7 });
    expect(answer.choices[0]!.finish_reason).toBe('length');
  });

  it('streams the SSE of `response` events as chat chunks, usage from its last event', async () => {
    const { data: stream, response } = await client()
      .chat.completions.create({ model: 'wai-chat', messages: hello, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const id = response.headers.get('x-request-id')!;
    expect(chunks.every((c) => c.id === `chatcmpl-${id}` && c.object === 'chat.completion.chunk' && c.model === LLAMA)).toBe(true);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(HEARD);
    expect(chunks.at(-2)!.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: HELLO_USAGE });
    expect((await onlyRequest(id)).body).toEqual({ inputs: { messages: hello, stream: true }, options: {} });
    expect((await logRow(id)) as Row).toMatchObject({ stream: 1, stream_cut: 0, prompt_tokens: 5, completion_tokens: 7, usage_source: 'provider' });
  });

  it("leaves a stream whose model reports no usage to the gateway's own count", async () => {
    const { data: stream, response } = await client().chat.completions.create({ model: 'wai-binding/@cf/fixture/legacy-chat', messages: hello, stream: true }).withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(HEARD);
    const row = (await logRow(response.headers.get('x-request-id')!)) as Row;
    expect(row).toMatchObject({ status: 200, stream_cut: 0, usage_source: 'gateway' });
    expect(row.completion_tokens).toBeGreaterThan(0);
    expect(row.prompt_tokens).toBeGreaterThan(0);
  });

  it('maps tool calls, answered and streamed', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'lookup', description: 'Look it up', parameters: { type: 'object', properties: { echo: { type: 'string' } } } } },
    ];
    const { data, response } = await client().chat.completions.create({ model: 'wai-chat', messages: hello, tools }).withResponse();
    expect((await onlyRequest(response.headers.get('x-request-id')!)).body).toMatchObject({ inputs: { tools } });
    const id = response.headers.get('x-request-id')!;
    expect(data.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: { content: null, tool_calls: [{ id: `call_${id}_0`, type: 'function', function: { name: 'lookup', arguments: '{"echo":"hello from the tests"}' } }] },
    });

    const stream = client().chat.completions.stream({ model: 'wai-chat', messages: hello, tools });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]).toMatchObject({ finish_reason: 'tool_calls', message: { tool_calls: [{ type: 'function', function: { name: 'lookup', arguments: '{"echo":"hello from the tests"}' } }] } });
  });

  it('embeds via `text` → {shape, data}, floats or base64', async () => {
    const { data: list, response } = await client().embeddings.create({ model: 'wai-embed', input: ['one', 'two words'] }).withResponse();
    const id = response.headers.get('x-request-id')!;
    const seen = await onlyRequest(id);
    expect(seen.headers['cf-consn-model-id']).toBe('@cf/baai/bge-base-en-v1.5');
    expect(seen.body).toEqual({ inputs: { text: ['one', 'two words'] }, options: {} });
    const expected = [[0.06, 0.02, 0.04, 2.22], [0.18, 0.04, 0.04, 2.32]];
    expect(list.data.map((d) => d.embedding)).toEqual(expected.map((v) => v.map(Math.fround)));
    // Workers AI embedding models report no usage: the gateway counts the call at its own
    // estimate (so token limits and budgets still hold), marked as its count.
    const row = await logRow(id);
    expect(row).toMatchObject({ endpoint: 'embeddings', status: 200, completion_tokens: 0, usage_source: 'gateway' });
    expect(row.prompt_tokens).toBeGreaterThanOrEqual(3);

    const floats = (await (await postJson('/v1/embeddings', { model: 'wai-embed', input: 'one', encoding_format: 'float' })).json()) as { data: { embedding: number[] }[] };
    expect(floats.data[0]!.embedding).toEqual(expected[0]);
    const base64 = (await (await postJson('/v1/embeddings', { model: 'wai-embed', input: 'one', encoding_format: 'base64' })).json()) as { data: { embedding: string }[] };
    expect(decode(base64.data[0]!.embedding)).toEqual(expected[0]!.map(Math.fround));
  });

  it("turns a run()'s thrown error into the status of its Workers AI code", async () => {
    const { error } = await expectError(await postJson('/v1/chat/completions', { model: 'wai-binding/@cf/fixture/no-such-model', messages: hello }), {
      status: 400,
      code: 'upstream_rejected',
    });
    expect(error.message).toBe('Provider "wai-binding" answered 400 (5007): No such model @cf/fixture/no-such-model or task');

    // Out of capacity (3040) is a 429: the next target, over REST, serves.
    const { data, response } = await client().chat.completions.create({ model: 'wai-capacity-failover', messages: hello }).withResponse();
    expect(data.choices[0]!.message.content).toBe(HEARD);
    const id = response.headers.get('x-request-id')!;
    expect((await upstreamSaw(id)).map((r) => r.path)).toEqual(['/workers-ai/binding/run', `/workers-ai/client/v4/accounts/${WAI_ACCOUNT_ID}/ai/v1/chat/completions`]);
    expect(await logRow(id)).toMatchObject({ status: 200, attempts: 2, provider: 'wai' });
  });

  it('times out a run() that never answers, and aborts it', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'wai-binding-quick/@cf/fixture/hang', messages: hello });
    const { id } = await expectError(res, { status: 504, code: 'upstream_timeout' });
    // The call's signal reached the binding: the run's own request was cut off.
    expect(await upstreamSawHangUp(id)).toBe(true);
  });

  it('answers 502 when the Worker has no such binding, and refuses what the binding cannot do', async () => {
    const { error } = await expectError(await postJson('/v1/chat/completions', { model: `wai-unbound/${LLAMA}`, messages: hello }), {
      status: 502,
      code: 'upstream_failed',
    });
    expect(error.message).toBe('Provider "wai-unbound" has no Workers AI binding configured');

    await expectError(await postJson('/v1/embeddings', { model: 'wai-embed', input: [[1, 2, 3]] }), { status: 400, code: 'invalid_request', param: 'input' });
    await expectError(await postJson('/v1/chat/completions', { model: 'wai-chat', messages: hello, n: 2 }), { status: 400, code: 'invalid_request', param: 'n' });
    await expectError(await postJson('/v1/completions', { model: 'wai-chat', prompt: 'x' }), { status: 400, code: 'unsupported_endpoint', param: 'model' });
    const err = await clientError(client().completions.create({ model: 'wai-chat', prompt: 'x' }));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
  });
});

describe('Workers AI passthrough', () => {
  const send = (path: string, body: unknown) =>
    gateway(path, { method: 'POST', headers: { authorization: `Bearer ${PT_KEYS['pt-all']}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it("forwards /{provider}/run/{model} to the account's REST API with the token, and counts its usage", async () => {
    const res = await send(`/wai/run/${LLAMA}`, { messages: hello });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ result: { response: HEARD, usage: HELLO_USAGE }, success: true, errors: [], messages: [] });
    const id = res.headers.get('x-request-id')!;
    const seen = await onlyRequest(id);
    expect(seen.path).toBe(`/workers-ai/client/v4/accounts/${WAI_ACCOUNT_ID}/ai/run/${LLAMA}`);
    expect(seen.headers.authorization).toBe(`Bearer ${WAI_TOKEN}`);
    expect(seen.body).toEqual({ messages: hello });
    expect(await logRow(id)).toMatchObject({ provider: 'wai', status: 200, prompt_tokens: 5, completion_tokens: 7, usage_source: 'provider' });

    const streamed = await send(`/wai/run/${LLAMA}`, { messages: hello, stream: true });
    const text = await streamed.text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(await logRow(streamed.headers.get('x-request-id')!)).toMatchObject({ stream: 1, prompt_tokens: 5, completion_tokens: 7, usage_source: 'provider' });
  });

  it('reads the account id from its secret; a binding or a bad account has nothing to forward to', async () => {
    const res = await send('/wai-secret/v1/chat/completions', { model: LLAMA, messages: hello });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe(HEARD);
    expect((await onlyRequest(res.headers.get('x-request-id')!)).path).toBe(`/workers-ai/client/v4/accounts/${WAI_ACCOUNT_ID}/ai/v1/chat/completions`);

    await expectError(await send(`/wai-binding/run/${LLAMA}`, { messages: hello }), { status: 404, code: 'unknown_url' });
    const bad = await send(`/wai-bad-account/run/${LLAMA}`, { messages: hello });
    const { text } = await expectError(bad, { status: 502, code: 'upstream_failed' });
    expect(text).not.toContain('zones');
  });
});

describe('Workers AI config', () => {
  const parse = (config: object) => ProviderConfigSchema.safeParse({ kind: 'workers-ai', ...config });

  it('takes a binding, or an account and a token for REST, never a mix', () => {
    expect(parse({ binding: 'AI' }).success).toBe(true);
    expect(parse({ account_id: WAI_ACCOUNT_ID, api_key_secret: 'CF_TOKEN' }).success).toBe(true);
    expect(parse({ account_id_secret: 'CF_ACCOUNT', api_key_secret: 'CF_TOKEN' }).success).toBe(true);
    expect(parse({}).success).toBe(false);
    expect(parse({ account_id: WAI_ACCOUNT_ID }).success).toBe(false);
    expect(parse({ account_id: 'not-an-account', api_key_secret: 'CF_TOKEN' }).success).toBe(false);
    expect(parse({ binding: 'AI', api_key_secret: 'CF_TOKEN' }).success).toBe(false);
    expect(parse({ binding: 'env.AI' }).success).toBe(false);
  });
});
