import OpenAI from 'openai';
import { ContentFilterFinishReasonError } from 'openai/core/error';
import { describe, expect, it } from 'vitest';
import { ANTHROPIC_REFUSAL as REFUSAL_TEXT } from './support/anthropic-config';
import { expectError } from './support/errors';
import { client, postJson, upstreamSaw } from './support/gateway';

/**
 * `response_format` (and the Responses API's `text.format`) on the Anthropic provider
 * as Claude's structured outputs (src/providers/anthropic/output-format.ts), through
 * the openai client against the Anthropic fixture, which checks `output_config.format`
 * and its schema as Anthropic does and answers with JSON built from the schema
 * (test/fixtures/native/anthropic-structured.ts): strings echo the last user text,
 * numbers count its words.
 */

const said = 'extract this please';
const ask = [{ role: 'user' as const, content: said }];
const schema = {
  type: 'object',
  properties: { echo: { type: 'string' }, words: { type: 'integer' }, ok: { type: 'boolean' }, when: { type: 'string', format: 'date' } },
  required: ['echo', 'words', 'ok', 'when'],
  additionalProperties: false,
};
const jsonSchema = { type: 'json_schema' as const, json_schema: { name: 'extraction', schema, strict: true } };
/** What the fixture answers under `schema`. */
const answer = { echo: said, words: 3, ok: true, when: '2025-01-02' };
const usage = { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 } };

type Message = OpenAI.ChatCompletionMessage & { reasoning_content?: string };

async function nativeBody(id: string): Promise<Record<string, unknown>> {
  const seen = await upstreamSaw(id);
  expect(seen).toHaveLength(1);
  expect(seen[0]!.path).toBe('/anthropic/v1/messages');
  return seen[0]!.body as Record<string, unknown>;
}

async function chat(body: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>) {
  const { data, response } = await client().chat.completions.create({ model: 'anthropic/claude-fx', messages: ask, ...body }).withResponse();
  const id = response.headers.get('x-request-id')!;
  return { data, message: data.choices[0]!.message as Message, native: await nativeBody(id) };
}

async function streamed(body: Partial<OpenAI.ChatCompletionCreateParamsStreaming>) {
  const out = { content: '', refusal: '', finish: null as string | null, usage: null as unknown };
  const { data: stream, response } = await client()
    .chat.completions.create({ model: 'anthropic/claude-fx', messages: ask, ...body, stream: true, stream_options: { include_usage: true } })
    .withResponse();
  for await (const chunk of stream) {
    if (chunk.usage) out.usage = chunk.usage;
    out.content += chunk.choices[0]?.delta.content ?? '';
    out.refusal += chunk.choices[0]?.delta.refusal ?? '';
    out.finish = chunk.choices[0]?.finish_reason ?? out.finish;
  }
  return { ...out, native: await nativeBody(response.headers.get('x-request-id')!) };
}

describe('anthropic structured outputs: json_schema as output_config.format', () => {
  it('sends the schema as output_config.format and answers its JSON as the content, streamed and not', async () => {
    const { data, message, native } = await chat({ response_format: jsonSchema });
    // `name` and `strict` have no place in Anthropic's format: only type and schema go.
    expect(native).toEqual({ model: 'claude-fx', max_tokens: 4096, messages: ask, output_config: { format: { type: 'json_schema', schema } } });
    expect(message).toEqual({ role: 'assistant', content: JSON.stringify(answer), refusal: null });
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(data.usage).toEqual(usage);

    const stream = await streamed({ response_format: jsonSchema });
    expect(stream).toEqual({
      content: JSON.stringify(answer), refusal: '', finish: 'stop', usage,
      native: { model: 'claude-fx', max_tokens: 4096, messages: ask, output_config: { format: { type: 'json_schema', schema } }, stream: true },
    });
  });

  it('gives the openai client\'s parse() the parsed object', async () => {
    const parsed = await client().chat.completions.parse({ model: 'anthropic/claude-fx', messages: ask, response_format: jsonSchema });
    expect(parsed.choices[0]!.message.parsed).toEqual(answer);
  });

  it('sends strict: false the same way, and the format\'s description as the schema\'s own when it has none', async () => {
    const loose = await chat({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema, strict: false, description: 'What the user asked for' } } });
    expect(loose.native.output_config).toEqual({ format: { type: 'json_schema', schema: { ...schema, description: 'What the user asked for' } } });
    const own = { ...schema, description: 'The schema says' };
    const kept = await chat({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: own, description: 'ignored beside it' } } });
    expect(kept.native.output_config).toEqual({ format: { type: 'json_schema', schema: own } });
  });

  it('answers nested objects, arrays, enums and local $refs as the schema has them', async () => {
    const nested = {
      type: 'object',
      properties: {
        tags: { type: 'array', items: { type: 'string', enum: ['red', 'blue'] } },
        person: { $ref: '#/$defs/person' },
        note: { anyOf: [{ type: 'null' }, { type: 'string' }] },
      },
      required: ['tags', 'person', 'note'],
      additionalProperties: false,
      $defs: { person: { type: 'object', properties: { name: { type: 'string' }, email: { type: 'string', format: 'email' } }, required: ['name', 'email'], additionalProperties: false } },
    };
    const { message, native } = await chat({ response_format: { type: 'json_schema', json_schema: { name: 'nested', schema: nested } } });
    expect(native.output_config).toEqual({ format: { type: 'json_schema', schema: nested } });
    expect(JSON.parse(message.content!)).toEqual({ tags: ['red'], person: { name: said, email: 'fixture@example.com' }, note: null });
  });

  it('merges the format with thinking\'s effort in one output_config, and keeps the thinking out of the JSON', async () => {
    const adaptive = await chat({ model: 'anthropic/claude-opus-4-7', reasoning_effort: 'low', response_format: jsonSchema });
    expect(adaptive.native).toEqual({
      model: 'claude-opus-4-7', max_tokens: 4096 + 1024, messages: ask,
      thinking: { type: 'adaptive' }, output_config: { effort: 'low', format: { type: 'json_schema', schema } },
    });
    expect(adaptive.message).toEqual({ role: 'assistant', content: JSON.stringify(answer), refusal: null, reasoning_content: `Thinking about ${said} (effort low)` });

    const budget = await chat({ model: 'anthropic/claude-sonnet-4-5', reasoning_effort: 'low', response_format: jsonSchema });
    expect(budget.native).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 1024 }, output_config: { format: { type: 'json_schema', schema } } });
    expect(budget.native.output_config).not.toHaveProperty('effort');
    expect(JSON.parse(budget.message.content!)).toEqual(answer);
  });
});

describe('anthropic structured outputs: the Responses API\'s text.format', () => {
  const format = { type: 'json_schema' as const, name: 'extraction', strict: true, schema };

  it('reaches Anthropic as output_config.format, and the JSON comes back as output_text, streamed and not', async () => {
    const { data, response } = await client().responses.create({ model: 'anthropic/claude-fx', input: said, text: { format } }).withResponse();
    const native = await nativeBody(response.headers.get('x-request-id')!);
    expect(native).toEqual({ model: 'claude-fx', max_tokens: 4096, messages: ask, output_config: { format: { type: 'json_schema', schema } } });
    expect(JSON.parse(data.output_text)).toEqual(answer);
    expect(data.text).toEqual({ format });

    const stream = await client().responses.create({ model: 'anthropic/claude-fx', input: said, text: { format }, stream: true });
    let text = '';
    let done = '';
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.output_text.done') done = event.text;
    }
    expect(JSON.parse(text)).toEqual(answer);
    expect(done).toBe(text);
  });

  it('refuses json_object with a 400 before any upstream call', async () => {
    const res = await postJson('/v1/responses', { model: 'anthropic/claude-fx', input: said, text: { format: { type: 'json_object' } } });
    const { id, error } = await expectError(res, { status: 400, code: 'invalid_request', param: 'response_format', keyId: 'team-a' });
    expect(error.message).toContain('no JSON mode without a schema');
    expect(await upstreamSaw(id)).toEqual([]);
  });
});

describe('anthropic structured outputs: what Anthropic cannot take', () => {
  it.each<[string, Record<string, unknown>, string, string]>([
    // Every object in an Anthropic schema is closed, so no schema admits any object: there is nothing honest to map JSON mode to.
    ['json_object (no schema-less JSON mode)', { type: 'json_object' }, 'response_format', 'no JSON mode without a schema'],
    ['json_schema without a schema', { type: 'json_schema', json_schema: { name: 'x' } }, 'response_format.json_schema.schema', 'need the JSON schema'],
  ])('refuses %s with a 400 naming the field, before any upstream call', async (_, format, param, message) => {
    const res = await postJson('/v1/chat/completions', { model: 'anthropic/claude-fx', messages: ask, response_format: format });
    const { id, error } = await expectError(res, { status: 400, code: 'invalid_request', param, keyId: 'team-a' });
    expect(error.message).toContain(message);
    expect(await upstreamSaw(id)).toEqual([]);
  });

  it.each<[string, string, Record<string, unknown>, string]>([
    ['an open object', 'claude-fx', { type: 'object', properties: { a: { type: 'string' } } }, 'For \'object\' type, \'additionalProperties\' must be explicitly set to false'],
    ['additionalProperties: true', 'claude-fx', { type: 'object', properties: {}, additionalProperties: true }, '\'additionalProperties: true\' is not supported'],
    ['a numeric constraint', 'claude-fx', { type: 'object', properties: { n: { type: 'integer', minimum: 1 } }, additionalProperties: false }, '\'minimum\' is not supported'],
    ['a recursive schema', 'claude-fx', { $ref: '#/$defs/node', $defs: { node: { type: 'object', properties: { next: { $ref: '#/$defs/node' } }, additionalProperties: false } } }, 'Too many recursive definitions in schema'],
    ['a model older than structured outputs', 'claude-sonnet-4-0', schema, 'not supported on claude-sonnet-4-0'],
  ])('passes on Anthropic\'s own 400 for %s, the schema sent as written', async (_, model, refused, message) => {
    const res = await postJson('/v1/chat/completions', { model: `anthropic/${model}`, messages: ask, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: refused } } });
    const { id, error, row } = await expectError(res, { status: 400, code: 'upstream_rejected', keyId: 'team-a' });
    expect(error.message).toContain('(invalid_request_error)');
    expect(error.message).toContain(message);
    expect((await nativeBody(id)).output_config).toEqual({ format: { type: 'json_schema', schema: refused } });
    expect(row).toMatchObject({ provider: 'anthropic', attempts: 1 });
  });
});

describe('anthropic structured outputs: a refusal', () => {
  it('puts what Claude said in `refusal`, content null, and finishes content_filter', async () => {
    const { data, message, native } = await chat({ model: 'anthropic/stop-refusal', response_format: jsonSchema });
    expect(native.output_config).toEqual({ format: { type: 'json_schema', schema } });
    expect(message).toEqual({ role: 'assistant', content: null, refusal: REFUSAL_TEXT });
    expect(data.choices[0]!.finish_reason).toBe('content_filter');
    // The openai client's parse() reports it as the content filter it is.
    await expect(client().chat.completions.parse({ model: 'anthropic/stop-refusal', messages: ask, response_format: jsonSchema })).rejects.toBeInstanceOf(ContentFilterFinishReasonError);
  });

  it('streams the text as content (it arrives before the stop reason tells it is a refusal), finishing content_filter', async () => {
    const stream = await streamed({ model: 'anthropic/stop-refusal', response_format: jsonSchema });
    expect(stream).toMatchObject({ content: REFUSAL_TEXT, refusal: '', finish: 'content_filter' });
  });

  it('without a schema, a refusal stays the content, as before', async () => {
    const { message, data } = await chat({ model: 'anthropic/stop-refusal' });
    expect(message).toEqual({ role: 'assistant', content: REFUSAL_TEXT, refusal: null });
    expect(data.choices[0]!.finish_reason).toBe('content_filter');
  });
});
