import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import { responseContext } from '../src/ingress/responses';
import { responsesFramer } from '../src/ingress/responses/framer';
import { ResponsesRequest } from '../src/ingress/responses/schemas';
import { GatewayError } from '../src/errors';
import { KEYS } from './support/constants';
import { clientError, expectError } from './support/errors';
import { client, gateway, logRow, postJson, upstreamSaw } from './support/gateway';
import { limitedKey } from './support/test-config';

/** `resp_…` and item ids are made from the request id's hex. */
const hexOf = (requestId: string) => requestId.slice('req_'.length);

/** The one request the fixture upstream received for a gateway call. */
async function upstreamBody(requestId: string): Promise<Record<string, unknown>> {
  const seen = await upstreamSaw(requestId);
  expect(seen).toHaveLength(1);
  return seen[0]!.body;
}

/** A raw SSE body as its events: the `event:` line and the parsed `data:` line of each. */
async function sseEvents(res: Response): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))!.slice(7);
      const data = JSON.parse(lines.find((l) => l.startsWith('data: '))!.slice(6)) as Record<string, unknown>;
      return { event, data };
    });
}

async function collect(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe('POST /v1/responses through the openai client', () => {
  it('answers a text input with a completed response, usage and the ids of its request', async () => {
    const { data, response } = await client().responses.create({ model: 'gpt-test', input: 'hello there gateway' }).withResponse();
    const id = response.headers.get('x-request-id')!;
    const hex = hexOf(id);
    expect(data.output_text).toBe('echo: hello there gateway');
    expect(data).toMatchObject({
      id: `resp_${hex}`,
      object: 'response',
      status: 'completed',
      model: 'gpt-test',
      error: null,
      incomplete_details: null,
      instructions: null,
      parallel_tool_calls: true,
      previous_response_id: null,
      store: false,
      tool_choice: 'auto',
      tools: [],
      text: { format: { type: 'text' } },
      metadata: {},
      usage: {
        input_tokens: 4, input_tokens_details: { cached_tokens: 0 },
        output_tokens: 4, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 8,
      },
    });
    expect(data.output).toEqual([
      {
        id: `msg_${hex}_0`, type: 'message', status: 'completed', role: 'assistant',
        content: [{ type: 'output_text', text: 'echo: hello there gateway', annotations: [], logprobs: [] }],
      },
    ]);
    expect(data.created_at).toBeCloseTo(Date.now() / 1000, -1);
    expect(response.headers.get('x-gateway-provider')).toBe('openai');

    expect(await upstreamBody(id)).toEqual({ model: 'gpt-test', messages: [{ role: 'user', content: 'hello there gateway' }] });
    expect(await logRow(id)).toMatchObject({
      endpoint: 'responses', model: 'gpt-test', provider: 'openai', stream: 0, status: 200, prompt_tokens: 4, completion_tokens: 4, attempts: 1,
    });
  });

  it('sends instructions as the first system message and maps the sampling fields, echoing them back', async () => {
    const { data, response } = await client()
      .responses.create({
        model: 'gpt-test', instructions: 'Answer in one word.', input: 'say hi', temperature: 0.2, top_p: 0.9,
        max_output_tokens: 64, metadata: { ticket: 'T-1' }, user: 'user-7', reasoning: { effort: 'low' }, text: { verbosity: 'low' },
      })
      .withResponse();
    expect(await upstreamBody(response.headers.get('x-request-id')!)).toEqual({
      model: 'gpt-test',
      messages: [{ role: 'system', content: 'Answer in one word.' }, { role: 'user', content: 'say hi' }],
      max_completion_tokens: 64, temperature: 0.2, top_p: 0.9, user: 'user-7', reasoning_effort: 'low', verbosity: 'low',
    });
    expect(data).toMatchObject({
      instructions: 'Answer in one word.', temperature: 0.2, top_p: 0.9, max_output_tokens: 64, metadata: { ticket: 'T-1' },
      user: 'user-7', reasoning: { effort: 'low', summary: null }, text: { format: { type: 'text' }, verbosity: 'low' },
    });
    expect(data.output_text).toBe('echo: say hi');
  });

  it('turns input items into chat messages: parts, a parallel tool-call turn, its outputs; reasoning items are left out', async () => {
    const { data, response } = await client()
      .responses.create({
        model: 'gpt-test',
        input: [
          { role: 'developer', content: 'Use metric units.' },
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'weather in Paris and London?' },
              { type: 'input_image', image_url: 'https://example.com/map.png', detail: 'low' },
            ],
          },
          { type: 'reasoning', id: 'rs_1', summary: [] },
          { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Checking.', annotations: [] }] },
          { type: 'function_call', id: 'fc_1', call_id: 'call_p', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' },
          { type: 'function_call', id: 'fc_2', call_id: 'call_l', name: 'get_weather', arguments: '{"city":"London"}', status: 'completed' },
          { type: 'function_call_output', call_id: 'call_p', output: '21 C, sunny' },
          { type: 'function_call_output', call_id: 'call_l', output: [{ type: 'input_text', text: '14 C, rain' }] },
          { role: 'user', content: 'thanks, summarize' },
        ],
      })
      .withResponse();
    expect(await upstreamBody(response.headers.get('x-request-id')!)).toEqual({
      model: 'gpt-test',
      messages: [
        { role: 'system', content: 'Use metric units.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'weather in Paris and London?' },
            { type: 'image_url', image_url: { url: 'https://example.com/map.png', detail: 'low' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'call_p', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_l', type: 'function', function: { name: 'get_weather', arguments: '{"city":"London"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_p', content: '21 C, sunny' },
        { role: 'tool', tool_call_id: 'call_l', content: '14 C, rain' },
        { role: 'user', content: 'thanks, summarize' },
      ],
    });
    expect(data.output_text).toBe('echo: thanks, summarize');
  });

  it('answers a tool request with function_call items and sends the tools as chat tools', async () => {
    const tool = {
      type: 'function' as const, name: 'get_weather', description: 'Current weather', strict: true,
      parameters: { type: 'object', properties: { echo: { type: 'string' } }, required: ['echo'], additionalProperties: false },
    };
    const { data, response } = await client()
      .responses.create({ model: 'gpt-test', input: 'weather in Paris', tools: [tool], tool_choice: { type: 'function', name: 'get_weather' }, parallel_tool_calls: false })
      .withResponse();
    const id = response.headers.get('x-request-id')!;
    expect(data.status).toBe('completed');
    expect(data.output).toEqual([
      { id: `fc_${hexOf(id)}_0`, type: 'function_call', status: 'completed', call_id: 'call_fx_1', name: 'get_weather', arguments: '{"echo":"weather in Paris"}' },
    ]);
    expect(data.output_text).toBe('');
    expect(data).toMatchObject({ tools: [tool], tool_choice: { type: 'function', name: 'get_weather' }, parallel_tool_calls: false });
    expect(await upstreamBody(id)).toEqual({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'weather in Paris' }],
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Current weather', parameters: tool.parameters, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false,
    });
  });

  it('serves the demo provider too, tool calls included', async () => {
    const data = await client().responses.create({
      model: 'demo', input: 'look it up', tools: [{ type: 'function', name: 'lookup', parameters: null, strict: null }],
    });
    expect(data.output).toMatchObject([{ type: 'function_call', call_id: 'call_demo_0', name: 'lookup', arguments: '{"input":"look it up"}' }]);
    const text = await client().responses.create({ model: 'demo', input: 'hello demo' });
    expect(text.output_text).toBe('Demo model (offline, deterministic) heard: hello demo');
  });

  it('asks for json_schema output as response_format and echoes the text format', async () => {
    const format = {
      type: 'json_schema' as const, name: 'echo_reply', strict: true,
      schema: { type: 'object', properties: { echo: { type: 'string' } }, required: ['echo'], additionalProperties: false },
    };
    const { data, response } = await client().responses.create({ model: 'gpt-test', input: 'json please', text: { format } }).withResponse();
    expect(JSON.parse(data.output_text)).toEqual({ echo: 'json please' });
    expect(data.text).toEqual({ format });
    expect((await upstreamBody(response.headers.get('x-request-id')!)).response_format).toEqual({
      type: 'json_schema', json_schema: { name: 'echo_reply', schema: format.schema, strict: true },
    });
    const object = await client().responses.create({ model: 'gpt-test', input: 'an object', text: { format: { type: 'json_object' } } });
    expect(JSON.parse(object.output_text)).toEqual({ echo: 'an object' });
  });
});

describe('streamed responses', () => {
  it('streams the typed events in order, numbered, with the text equal to its deltas and usage at the end', async () => {
    const { data: stream, response } = await client().responses.create({ model: 'gpt-test', input: 'stream these four words', stream: true }).withResponse();
    const events = await collect(stream);
    const id = response.headers.get('x-request-id')!;
    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    expect(events.map((e) => e.type)).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
      ...deltas.map(() => 'response.output_text.delta'),
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed',
    ]);
    expect(deltas.length).toBe(5);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const text = deltas.map((e) => e.delta).join('');
    expect(text).toBe('echo: stream these four words');
    const done = events.find((e) => e.type === 'response.output_text.done');
    expect(done).toMatchObject({ text, item_id: `msg_${hexOf(id)}_0`, output_index: 0, content_index: 0 });
    const created = events[0] as Extract<ResponseStreamEvent, { type: 'response.created' }>;
    expect(created.response).toMatchObject({ id: `resp_${hexOf(id)}`, status: 'in_progress', output: [], usage: null });
    const completed = events.at(-1) as Extract<ResponseStreamEvent, { type: 'response.completed' }>;
    expect(completed.response).toMatchObject({
      id: `resp_${hexOf(id)}`, status: 'completed',
      output: [{ type: 'message', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] }],
      usage: { input_tokens: 5, output_tokens: 5, total_tokens: 10 },
    });

    const body = await upstreamBody(id);
    expect(body).toEqual({
      model: 'gpt-test', messages: [{ role: 'user', content: 'stream these four words' }], stream: true, stream_options: { include_usage: true },
    });
    expect(await logRow(id)).toMatchObject({ endpoint: 'responses', stream: 1, status: 200, stream_cut: 0, prompt_tokens: 5, completion_tokens: 5 });
  });

  it('names every event on its event: line, and works with the client stream helper', async () => {
    const raw = await postJson('/v1/responses', { model: 'gpt-test', input: 'raw events', stream: true });
    expect(raw.headers.get('content-type')).toContain('text/event-stream');
    const events = await sseEvents(raw);
    expect(events.length).toBeGreaterThan(8);
    for (const { event, data } of events) expect(event).toBe(data.type);

    const helper = client().responses.stream({ model: 'gpt-test', input: 'helper words' });
    let snapshot = '';
    helper.on('response.output_text.delta', (event) => (snapshot = event.snapshot));
    const final = await helper.finalResponse();
    expect(final.output_text).toBe('echo: helper words');
    expect(snapshot).toBe('echo: helper words');
    expect(final.status).toBe('completed');
  });

  it('streams a tool call as a function_call item with its argument deltas', async () => {
    const stream = await client().responses.create({
      model: 'gpt-test', input: 'call it', stream: true, tools: [{ type: 'function', name: 'finder', parameters: null, strict: null }],
    });
    const events = await collect(stream);
    const deltas = events.filter((e) => e.type === 'response.function_call_arguments.delta');
    expect(events.map((e) => e.type)).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added',
      ...deltas.map(() => 'response.function_call_arguments.delta'),
      'response.function_call_arguments.done', 'response.output_item.done', 'response.completed',
    ]);
    expect(deltas.length).toBe(3);
    const args = '{"echo":"call it"}';
    expect(deltas.map((e) => e.delta).join('')).toBe(args);
    expect(events.find((e) => e.type === 'response.function_call_arguments.done')).toMatchObject({ arguments: args, name: 'finder' });
    const completed = events.at(-1) as Extract<ResponseStreamEvent, { type: 'response.completed' }>;
    expect(completed.response.output).toEqual([
      { id: expect.stringMatching(/^fc_[0-9a-f]{32}_0$/), type: 'function_call', status: 'completed', call_id: 'call_fx_1', name: 'finder', arguments: args },
    ]);
  });

  it('ends a stream the provider cut with response.failed, which the client reports as an event', async () => {
    const { data: stream, response } = await client().responses.create({ model: 'fixture/fault-reset-stream', input: 'cut me off please', stream: true }).withResponse();
    const events = await collect(stream);
    expect(events.map((e) => e.type)).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.failed',
    ]);
    const failed = events.at(-1) as Extract<ResponseStreamEvent, { type: 'response.failed' }>;
    expect(failed.response.status).toBe('failed');
    expect(failed.response.error).toEqual({ code: 'server_error', message: expect.stringMatching(/provider|stream/i) });
    expect(failed.response.output).toMatchObject([{ type: 'message', status: 'incomplete', content: [{ type: 'output_text', text: 'echo: ' }] }]);
    const row = await logRow(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ endpoint: 'responses', stream: 1, stream_cut: 1 });
    expect(row.error_code).toMatch(/^(stream_cut|upstream_failed)$/);

    const helper = client().responses.stream({ model: 'fixture/fault-reset-stream', input: 'cut again' });
    expect((await helper.finalResponse()).status).toBe('failed');
  });

  it('closes a stream the token cap cut short as response.incomplete', () => {
    const request = ResponsesRequest.parse({ model: 'm', input: 'x', max_output_tokens: 16 });
    const context = responseContext('req_00112233445566778899aabbccddeeff', Date.now(), request, false);
    const finished: Record<string, unknown>[] = [];
    const framer = responsesFramer(context, (response) => finished.push(response));
    const chunk = (delta: object, finish: string | null = null) =>
      JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'up-model', choices: [{ index: 0, delta, finish_reason: finish }] });
    const wire =
      framer.chunk(chunk({ role: 'assistant', content: '' }), false) +
      framer.chunk(chunk({ content: 'partial' }), false) +
      framer.chunk(chunk({}, 'length'), false) +
      framer.chunk(JSON.stringify({ id: 'c', choices: [], usage: { prompt_tokens: 2, completion_tokens: 16, total_tokens: 18 } }), true) +
      framer.done();
    const events = wire.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.split('\n')[1]!.slice(6)) as Record<string, unknown>);
    expect(events.map((e) => e.type)).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added', 'response.output_text.delta',
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.incomplete',
    ]);
    expect(events.at(-1)!.response).toMatchObject({
      status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, model: 'up-model',
      output: [{ status: 'incomplete', content: [{ text: 'partial' }] }], usage: { input_tokens: 2, output_tokens: 16 },
    });
    expect(finished).toHaveLength(1);

    // A refusal after text is a second content part of the same message.
    const refusing = responsesFramer(context, () => {});
    const refused =
      refusing.chunk(chunk({ content: 'Well' }), false) + refusing.chunk(chunk({ refusal: 'I cannot' }), false) + refusing.chunk(chunk({}, 'stop'), false) + refusing.done();
    const last = refused.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.split('\n')[1]!.slice(6)) as Record<string, unknown>);
    expect(last.map((e) => [e.type, e.content_index])).toEqual([
      ['response.created', undefined], ['response.in_progress', undefined], ['response.output_item.added', undefined],
      ['response.content_part.added', 0], ['response.output_text.delta', 0], ['response.output_text.done', 0], ['response.content_part.done', 0],
      ['response.content_part.added', 1], ['response.refusal.delta', 1], ['response.refusal.done', 1], ['response.content_part.done', 1],
      ['response.output_item.done', undefined], ['response.completed', undefined],
    ]);
    expect(last.at(-1)!.response).toMatchObject({
      status: 'completed',
      output: [{ type: 'message', content: [{ type: 'output_text', text: 'Well' }, { type: 'refusal', refusal: 'I cannot' }] }],
    });
    // A failure before any chunk still opens the response first, so clients can read it.
    const failed = responsesFramer(context, () => {}).error(new GatewayError('upstream_timeout', 'The provider sent nothing for 400 ms'));
    expect(failed.split('\n\n').filter(Boolean).map((e) => e.split('\n')[0])).toEqual(['event: response.created', 'event: response.in_progress', 'event: response.failed']);
  });
});

describe('conversation state', () => {
  const tools = [{ type: 'function' as const, name: 'get_weather', parameters: null, strict: null }];

  it('continues a stored response by previous_response_id, tool output included, without its instructions', async () => {
    const first = await client().responses.create({ model: 'gpt-test', instructions: 'Be terse.', input: 'weather in Oslo', tools, store: true });
    expect((first as unknown as { store: boolean }).store).toBe(true);
    const call = first.output[0]!;
    expect(call.type).toBe('function_call');
    const { data: second, response } = await client()
      .responses.create({
        model: 'gpt-test', instructions: 'Be kind.', previous_response_id: first.id, tools, tool_choice: 'none', store: true,
        input: [{ type: 'function_call_output', call_id: 'call_fx_1', output: '3 C, snow' }],
      })
      .withResponse();
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output_text).toBe('echo: weather in Oslo');
    const body = await upstreamBody(response.headers.get('x-request-id')!);
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be kind.' },
      { role: 'user', content: 'weather in Oslo' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_fx_1', type: 'function', function: { name: 'get_weather', arguments: '{"echo":"weather in Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_fx_1', content: '3 C, snow' },
    ]);

    // A streamed response is kept too, once it completed.
    const third = await client().responses.create({ model: 'gpt-test', previous_response_id: second.id, input: 'and tomorrow?', stream: true, store: true });
    const events = await collect(third);
    const thirdId = (events[0] as Extract<ResponseStreamEvent, { type: 'response.created' }>).response.id;
    expect(thirdId).toMatch(/^resp_/);
    const seen = await upstreamSaw(`req_${thirdId.slice(5)}`);
    expect((seen[0]!.body.messages as unknown[]).slice(-2)).toEqual([
      { role: 'assistant', content: 'echo: weather in Oslo' },
      { role: 'user', content: 'and tomorrow?' },
    ]);
    const { response: fourth } = await client().responses.create({ model: 'gpt-test', previous_response_id: thirdId, input: 'bye' }).withResponse();
    expect(((await upstreamBody(fourth.headers.get('x-request-id')!)).messages as unknown[]).slice(-3)).toEqual([
      { role: 'user', content: 'and tomorrow?' },
      { role: 'assistant', content: 'echo: and tomorrow?' },
      { role: 'user', content: 'bye' },
    ]);
  });

  it('keeps nothing without store: true, and never shows one key the responses of another', async () => {
    const unstored = await client().responses.create({ model: 'gpt-test', input: 'forget me' });
    const missing = await clientError(client().responses.create({ model: 'gpt-test', previous_response_id: unstored.id, input: 'next' }));
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.error).toMatchObject({ code: 'previous_response_not_found', param: 'previous_response_id' });

    const stored = await client().responses.create({ model: 'gpt-test', input: 'mine only', store: true });
    const other = await clientError(client(KEYS.teamB).responses.create({ model: 'gpt-test', previous_response_id: stored.id, input: 'next' }));
    expect(other.status).toBe(404);
    expect((await client().responses.create({ model: 'gpt-test', previous_response_id: stored.id, input: 'next' })).status).toBe('completed');
  });
});

describe('what the gateway cannot serve is refused by name', () => {
  const refuse = async (body: Record<string, unknown>, param: string, code = 'invalid_request', pattern?: RegExp) => {
    const res = await postJson('/v1/responses', { model: 'gpt-test', input: 'hi', ...body });
    const { id, error } = await expectError(res, { status: 400, code, param, rowCode: 'invalid_request' });
    if (pattern) expect(error.message).toMatch(pattern);
    expect(await upstreamSaw(id)).toHaveLength(0);
  };

  it('refuses built-in tools, naming the tool type', async () => {
    await refuse({ tools: [{ type: 'function', name: 'ok' }, { type: 'web_search' }] }, 'tools[1].type', 'invalid_request', /"web_search".*not supported/);
    await refuse({ tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] }, 'tools[0].type', 'invalid_request', /"code_interpreter"/);
    await refuse({ tool_choice: { type: 'file_search' } }, 'tool_choice', 'invalid_request', /"file_search" is not supported/);
    const sdk = await clientError(client().responses.create({ model: 'gpt-test', input: 'hi', tools: [{ type: 'mcp', server_label: 'x', server_url: 'https://mcp.example.com' }] }));
    expect(sdk).toBeInstanceOf(OpenAI.BadRequestError);
    expect(sdk.param).toBe('tools[0].type');
  });

  it('refuses unknown item and part types, file ids, unknown fields and features it cannot honour', async () => {
    await refuse({ input: [{ type: 'computer_call_output', call_id: 'c', output: {} }] }, 'input[0].type', 'invalid_request', /"computer_call_output"/);
    await refuse({ input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input[0].type');
    await refuse({ input: [{ role: 'user', content: [{ type: 'input_audio', data: 'x' }] }] }, 'input[0].content[0].type', 'invalid_request', /"input_audio"/);
    await refuse({ input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1', detail: 'auto' }] }] }, 'input[0].content[0].file_id', 'invalid_request', /file ids are not supported/);
    await refuse({ input: [{ role: 'user', content: [{ type: 'output_text', text: 'x' }] }] }, 'input[0].content[0].type', 'invalid_request', /only an assistant/);
    await refuse({ input: [{ role: 'tool', content: 'x' }] }, 'input[0].role');
    await refuse({ input: [] }, 'input', 'invalid_request', /is required/);
    await refuse({ frequency_penalty: 1 }, 'frequency_penalty', 'unknown_parameter', /Unknown parameter: 'frequency_penalty'/);
    await refuse({ background: true }, 'background', 'invalid_request', /background/);
    await refuse({ truncation: 'auto' }, 'truncation');
    await refuse({ include: ['reasoning.encrypted_content'] }, 'include');
    await refuse({ conversation: 'conv_1' }, 'conversation');
    await refuse({ text: { format: { type: 'grammar' } } }, 'text.format.type', 'invalid_request', /"grammar"/);
    await refuse({ metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }, 'metadata', 'invalid_request', /16 keys/);
    await refuse({ metadata: { k: 'v'.repeat(513) } }, 'metadata.k');
    await refuse({ previous_response_id: 'chatcmpl-1' }, 'previous_response_id');
    // Accepted at their "off" values, as clients send them.
    const ok = await postJson('/v1/responses', { model: 'gpt-test', input: 'hi', background: false, include: [], truncation: 'disabled', store: false, top_logprobs: 0 });
    expect(ok.status).toBe(200);
  });

  it('answers other methods with 405 and Allow', async () => {
    const res = await gateway('/v1/responses', { method: 'GET', headers: { authorization: `Bearer ${KEYS.teamA}` } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('shared pipeline: cache and limits', () => {
  async function untilHit(body: Record<string, unknown>): Promise<Response> {
    for (let i = 0; i < 50; i++) {
      const res = await postJson('/v1/responses', body);
      if (res.headers.get('x-gateway-cache') === 'HIT') return res;
      await res.text();
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('entry never became a hit');
  }

  it('serves a repeated call on a cached alias from the cache, as a response and as a stream', async () => {
    const input = `cache me ${crypto.randomUUID()}`;
    const { data: first, response } = await client().responses.create({ model: 'cached', input, temperature: 0 }).withResponse();
    expect(response.headers.get('x-gateway-cache')).toBe('MISS');

    const hit = await untilHit({ model: 'cached', input, temperature: 0 });
    const hitId = hit.headers.get('x-request-id')!;
    const body = (await hit.json()) as { id: string; output: unknown[]; usage: unknown; status: string };
    expect(body.id).toBe(`resp_${hexOf(hitId)}`);
    expect(body.status).toBe('completed');
    expect(body.output).toEqual([{ ...first.output[0], id: `msg_${hexOf(hitId)}_0` }]);
    expect(body.usage).toEqual(first.usage);
    expect(await upstreamSaw(hitId)).toHaveLength(0);
    expect(await logRow(hitId)).toMatchObject({ endpoint: 'responses', cache_status: 'HIT', attempts: 0 });

    const { data: replay, response: replayed } = await client().responses.create({ model: 'cached', input, temperature: 0, stream: true }).withResponse();
    expect(replayed.headers.get('x-gateway-cache')).toBe('HIT');
    const events = await collect(replay);
    const completed = events.at(-1) as Extract<ResponseStreamEvent, { type: 'response.completed' }>;
    expect(completed.type).toBe('response.completed');
    expect(events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('')).toBe(first.output_text);
    expect(completed.response.usage).toEqual(first.usage);
  });

  it("holds the call to the key's limits, and the client raises RateLimitError", async () => {
    const key = limitedKey('requests');
    for (let i = 0; i < 5; i++) expect((await client(key).responses.create({ model: 'gpt-test', input: `call ${i}` })).status).toBe('completed');
    const refused = await clientError(client(key).responses.create({ model: 'gpt-test', input: 'one too many' }));
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect(refused.code).toBe('rate_limit_exceeded');
    expect(refused.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
  });
});
