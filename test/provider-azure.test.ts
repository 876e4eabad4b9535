import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { ProviderConfigSchema } from '../src/providers/registry';
import { AZURE_ENTRA_TOKEN, AZURE_KEY, AZURE_MODEL_NAME } from './support/azure-config';
import { KEYS } from './support/constants';
import { clientError, expectError } from './support/errors';
import { client, logRow, postJson, sseData, upstreamSaw, type RecordedRequest } from './support/gateway';

/**
 * Azure OpenAI through the real openai client, against the Azure fixture
 * (test/fixtures/native/azure.ts): what Azure received (path, api-version, api-key)
 * and what the client got, Azure's content filter and its 429s included.
 */

type Seen = RecordedRequest & { query: string };
type Row = Awaited<ReturnType<typeof logRow>> & { usage_source: string | null };

const hello = [{ role: 'user' as const, content: 'hello from the tests' }];
/** The fixture's reply to `hello`: 5 prompt tokens (4 words + 1 per message), 6 completion tokens. */
const HEARD = 'Azure heard: hello from the tests';

async function onlyRequest(id: string): Promise<Seen> {
  const seen = await upstreamSaw(id);
  expect(seen).toHaveLength(1);
  return seen[0] as Seen;
}

function expectNoSecrets(text: string): void {
  for (const secret of [AZURE_KEY, AZURE_ENTRA_TOKEN, KEYS.teamA]) expect(text).not.toContain(secret);
}

describe('Azure OpenAI requests', () => {
  it('go to the mapped deployment with api-version, the key in api-key and never as a bearer', async () => {
    const { data, response } = await client().chat.completions.create({ model: 'azure-chat', messages: hello }).withResponse();
    const id = response.headers.get('x-request-id')!;
    const seen = await onlyRequest(id);
    expect(seen.method).toBe('POST');
    expect(seen.path).toBe('/azure/east/openai/deployments/prod-gpt4o/chat/completions');
    expect(seen.query).toBe('api-version=2024-10-21');
    expect(seen.headers['api-key']).toBe(AZURE_KEY);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['x-request-id']).toBe(id);
    expect(seen.body).toEqual({ model: 'gpt-4o', messages: hello });
    expectNoSecrets(JSON.stringify({ path: seen.path, query: seen.query, body: seen.body }));
    expect(JSON.stringify(seen.headers)).not.toContain(KEYS.teamA);

    expect(data).toMatchObject({ id: `chatcmpl-azure-${id}`, object: 'chat.completion', model: AZURE_MODEL_NAME });
    expect(data.choices).toHaveLength(1);
    expect(data.choices[0]).toMatchObject({ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: HEARD } });
    expect(data.usage).toEqual({ prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 });
    // Azure's annotations pass through for clients that read them.
    const annotated = data as unknown as { prompt_filter_results: unknown[]; choices: { content_filter_results: { hate: unknown } }[] };
    expect(annotated.prompt_filter_results).toHaveLength(1);
    expect(annotated.choices[0]!.content_filter_results.hate).toEqual({ filtered: false, severity: 'safe' });

    const row = await logRow(id);
    expect(row).toMatchObject({ provider: 'azure', upstream_model: 'gpt-4o', status: 200, prompt_tokens: 5, completion_tokens: 6, attempts: 1 });
    expect(row.cost_usd).toBeCloseTo((5 * 2.5 + 6 * 10) / 1e6, 12);
  });

  it('use the model id itself as the deployment when the provider maps none', async () => {
    const { response } = await client().chat.completions.create({ model: 'azure/gpt-4o-mini', messages: hello }).withResponse();
    const seen = await onlyRequest(response.headers.get('x-request-id')!);
    expect(seen.path).toBe('/azure/east/openai/deployments/gpt-4o-mini/chat/completions');
    expect(seen.query).toBe('api-version=2024-10-21');
  });

  it.each(['a/../../../admin', 'x?api-version=1', 'dep%2F..', '.hidden', 'two/segments'])(
    'refuse a model id that is not a deployment name (%s) before any call',
    async (model) => {
      const res = await postJson('/v1/chat/completions', { model: `azure/${model}`, messages: hello });
      const { id } = await expectError(res, { status: 400, code: 'invalid_request', param: 'model' });
      expect(await upstreamSaw(id)).toEqual([]);
    },
  );

  it('send legacy completions and embeddings to the deployment too', async () => {
    const { data: text, response } = await client().completions.create({ model: 'azure/gpt-35-turbo-instruct', prompt: 'say this' }).withResponse();
    expect(text.choices[0]!.text).toBe('Azure continues: say this');
    const completionSeen = await onlyRequest(response.headers.get('x-request-id')!);
    expect(completionSeen.path).toBe('/azure/east/openai/deployments/instruct/completions');
    expect(completionSeen.query).toBe('api-version=2024-10-21');
    expect(completionSeen.headers['api-key']).toBe(AZURE_KEY);

    // The client's default (base64) decodes to the fixture's vectors.
    const { data: list, response: embedded } = await client().embeddings.create({ model: 'azure-embed', input: ['one', 'two words'] }).withResponse();
    const id = embedded.headers.get('x-request-id')!;
    const seen = await onlyRequest(id);
    expect(seen.path).toBe('/azure/east/openai/deployments/embed-small/embeddings');
    expect(seen.body).toEqual({ model: 'text-embedding-3-small', input: ['one', 'two words'], encoding_format: 'base64' });
    expect(list.data.map((d) => d.embedding)).toEqual([
      [0.03, 0.01, 0.02, 1.11].map(Math.fround),
      [0.09, 0.02, 0.02, 1.16].map(Math.fround),
    ]);
    expect(await logRow(id)).toMatchObject({ endpoint: 'embeddings', status: 200, prompt_tokens: 3 });
  });

  it('speak the v1 API when asked: /openai/v1, the deployment as model, no api-version', async () => {
    const { data, response } = await client().chat.completions.create({ model: 'azure-v1/gpt-4o', messages: hello }).withResponse();
    expect(data.choices[0]!.message.content).toBe(HEARD);
    const seen = await onlyRequest(response.headers.get('x-request-id')!);
    expect(seen.path).toBe('/azure/west/openai/v1/chat/completions');
    expect(seen.query).toBe('');
    expect(seen.body).toEqual({ model: 'prod-gpt4o', messages: hello });
    expect(seen.headers['api-key']).toBe(AZURE_KEY);
  });

  it('send an Entra token as a bearer instead of api-key when auth = "entra"', async () => {
    const { response } = await client().chat.completions.create({ model: 'azure-entra/chat-prod', messages: hello }).withResponse();
    const seen = await onlyRequest(response.headers.get('x-request-id')!);
    expect(seen.path).toBe('/azure/north/openai/deployments/chat-prod/chat/completions');
    expect(seen.query).toBe('api-version=2025-04-01-preview');
    expect(seen.headers.authorization).toBe(`Bearer ${AZURE_ENTRA_TOKEN}`);
    expect(seen.headers['api-key']).toBeUndefined();
  });
});

describe('Azure OpenAI streams', () => {
  it("carry the prompt annotation on the first real chunk, never as a chunk of its own", async () => {
    const { data: stream, response } = await client()
      .chat.completions.create({ model: 'azure-chat', messages: hello, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const id = response.headers.get('x-request-id')!;

    const [first] = chunks;
    expect(first).toMatchObject({ id: `chatcmpl-azure-${id}`, object: 'chat.completion.chunk', model: AZURE_MODEL_NAME });
    expect(first!.choices[0]!.delta).toMatchObject({ role: 'assistant', content: '' });
    expect((first as unknown as { prompt_filter_results: unknown[] }).prompt_filter_results).toHaveLength(1);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(HEARD);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop');
    // Only the usage chunk has no choices.
    expect(chunks.filter((c) => c.choices.length === 0)).toEqual([chunks.at(-1)]);
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 });

    const seen = await onlyRequest(id);
    expect(seen.path).toBe('/azure/east/openai/deployments/prod-gpt4o/chat/completions');
    expect(seen.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(seen.headers.accept).toBe('text/event-stream');
    const row = (await logRow(id)) as Row;
    expect(row).toMatchObject({ stream: 1, status: 200, stream_cut: 0, prompt_tokens: 5, completion_tokens: 6, usage_source: 'provider' });
  });

  it('send a client that asked for no usage no empty-choices chunk at all, and still log the usage', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'azure-chat', messages: hello, stream: true });
    const events = await sseData(res);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: unknown[]; prompt_filter_results?: unknown });
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect(chunks[0]!.prompt_filter_results).toBeDefined();
    expect(chunks.slice(1).every((c) => c.prompt_filter_results === undefined)).toBe(true);
    const id = res.headers.get('x-request-id')!;
    expect((await onlyRequest(id)).body).toMatchObject({ stream_options: { include_usage: true } });
    expect((await logRow(id)) as Row).toMatchObject({ prompt_tokens: 5, completion_tokens: 6, usage_source: 'provider' });
  });

  it('fail over when the stream errors right after the annotation: the annotation is not a first byte', async () => {
    const { data: stream, response } = await client().chat.completions.create({ model: 'azure-annotated-failure', messages: hello, stream: true }).withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(HEARD);
    expect(response.headers.get('x-gateway-model')).toBe('gpt-4o');
    const id = response.headers.get('x-request-id')!;
    expect((await upstreamSaw(id)).map((r) => r.path)).toEqual([
      '/azure/east/openai/deployments/fault-annotation-then-error/chat/completions',
      '/azure/east/openai/deployments/prod-gpt4o/chat/completions',
    ]);
    expect(await logRow(id)).toMatchObject({ status: 200, attempts: 2, stream_cut: 0 });
  });
});

describe("Azure's content filter", () => {
  it('answers a blocked prompt with 400 content_filter, neither retried nor failed over', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'azure-filtered', messages: hello });
    const { id, error, text } = await expectError(res, { status: 400, code: 'content_filter', rowCode: 'upstream_rejected', param: 'messages' });
    expect(error.message).toBe('Provider "azure" (Azure OpenAI) refused the request: its content filter flagged the prompt (hate (medium))');
    expectNoSecrets(text);
    expect((await upstreamSaw(id)).map((r) => r.path)).toEqual(['/azure/east/openai/deployments/fault-content-filter/chat/completions']);

    const err = await clientError(client().chat.completions.create({ model: 'azure-filtered', messages: hello }));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.code).toBe('content_filter');
    expect(err.param).toBe('messages');
  });

  it('fails over on it only when the operator lists 400 in failover_on', async () => {
    const { data, response } = await client().chat.completions.create({ model: 'azure-filtered-failover', messages: hello }).withResponse();
    expect(data.choices[0]!.message.content).toBe(HEARD);
    expect(await logRow(response.headers.get('x-request-id')!)).toMatchObject({ status: 200, attempts: 2, upstream_model: 'gpt-4o' });
  });

  it('passes finish_reason content_filter through, as JSON and streamed', async () => {
    const answer = await client().chat.completions.create({ model: 'azure/filtered-output', messages: hello });
    expect(answer.choices[0]).toMatchObject({ finish_reason: 'content_filter', message: { content: 'Azure began to' } });
    const filter = (answer.choices[0] as unknown as { content_filter_results: { violence: unknown } }).content_filter_results;
    expect(filter.violence).toEqual({ filtered: true, severity: 'high' });

    const stream = await client().chat.completions.create({ model: 'azure/filtered-output', messages: hello, stream: true });
    const finishes: (string | null)[] = [];
    let text = '';
    for await (const chunk of stream) {
      finishes.push(chunk.choices[0]?.finish_reason ?? null);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('Azure began to');
    expect(finishes.filter(Boolean)).toEqual(['content_filter']);
  });
});

describe('Azure OpenAI failures', () => {
  it("turns Azure's 429 into 429 upstream_rate_limited with its wait (retry-after-ms)", async () => {
    const res = await postJson('/v1/chat/completions', { model: 'azure/fault-429', messages: hello });
    expect(res.headers.get('retry-after-ms')).toBe('1500');
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.headers.get('x-should-retry')).toBe('true');
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBeNull();
    const { error, text } = await expectError(res, { status: 429, code: 'upstream_rate_limited', type: 'rate_limit_error' });
    expect(error.message).toContain('Provider "azure" answered 429 (429): Requests to the ChatCompletions_Create Operation');
    expect(error.message).not.toContain('aka.ms');
    expectNoSecrets(text);

    // The wait holds fleet-wide: the client is told at once, still as a rate limit.
    const err = await clientError(client().chat.completions.create({ model: 'azure/fault-429', messages: hello }));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.code).toBe('upstream_rate_limited');
    expect(Number(err.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('turns a 500 into 502 upstream_failed', async () => {
    const { error } = await expectError(await postJson('/v1/chat/completions', { model: 'azure/fault-500', messages: hello }), {
      status: 502,
      code: 'upstream_failed',
    });
    expect(error.message).toContain('(InternalServerError)');
  });

  it('never lets the key reach the client, even when Azure quotes it back', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'azure/fault-leaky', messages: hello });
    const { error, text } = await expectError(res, { status: 400, code: 'upstream_rejected' });
    expect(error.message).toContain('[redacted]');
    expectNoSecrets(text);
  });
});

describe('Azure OpenAI config', () => {
  const parse = (config: object) => ProviderConfigSchema.safeParse({ kind: 'azure', api_key_secret: 'K', ...config });

  it('needs a resource URL, and takes deployments, api_version and style', () => {
    expect(parse({ resource_url: 'https://res.openai.azure.com' }).success).toBe(true);
    expect(parse({}).success).toBe(false);
    expect(parse({ resource_url: 'https://a.openai.azure.com', base_url: 'https://b.openai.azure.com' }).success).toBe(false);
    expect(parse({ resource_url: 'http://127.0.0.1:8080' }).success).toBe(false);
    expect(parse({ resource_url: 'https://res.openai.azure.com', api_version: '2024-10-21; drop' }).success).toBe(false);
    expect(parse({ resource_url: 'https://res.openai.azure.com', deployments: { 'gpt-4o': '../admin' } }).success).toBe(false);
    expect(parse({ resource_url: 'https://res.openai.azure.com', api_style: 'v1', auth: 'entra' }).success).toBe(true);
  });
});
