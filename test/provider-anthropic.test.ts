import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { ANTHROPIC_CREDENTIAL } from './support/anthropic-config';
import { clientError, expectError, type Expected } from './support/errors';
import { client, logRow, postJson, sseData, upstreamSaw, type CallRow } from './support/gateway';

/**
 * The Anthropic provider (kind `anthropic`), driven through the openai client
 * against the Anthropic fixture (test/fixtures/native/anthropic.ts), which checks
 * requests as Anthropic's API does. Each test asserts the native request the
 * fixture received and the OpenAI answer the client got.
 */

const said = 'hello there claude';
const hello = [{ role: 'user' as const, content: said }];
const chat = (body: Record<string, unknown>) => postJson('/v1/chat/completions', { messages: hello, ...body });
/** What the fixture's x-api-key and anthropic-version checks expect, on every call. */
const NATIVE_HEADERS = { 'x-api-key': ANTHROPIC_CREDENTIAL, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };

type Row = CallRow & { cached_tokens: number | null; cache_write_tokens: number | null; usage_source: string | null };

async function nativeRequest(id: string) {
  const seen = await upstreamSaw(id);
  expect(seen).toHaveLength(1);
  expect(seen[0]!.path).toBe('/anthropic/v1/messages');
  return seen[0]!;
}

async function okJson(res: Response) {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return { id: res.headers.get('x-request-id')!, body: JSON.parse(text) as { choices: { message: Record<string, unknown>; finish_reason: string }[]; usage: unknown } };
}

/** Reads a client stream into what a user reassembles from it. */
async function collect(stream: AsyncIterable<OpenAI.ChatCompletionChunk>) {
  const out = { content: '', finish: null as string | null, usage: null as unknown, ids: new Set<string>(), tools: [] as { id: string; name: string; arguments: string }[] };
  for await (const chunk of stream) {
    out.ids.add(chunk.id);
    if (chunk.usage) out.usage = chunk.usage;
    const choice = chunk.choices[0];
    out.content += choice?.delta.content ?? '';
    out.finish = choice?.finish_reason ?? out.finish;
    for (const call of choice?.delta.tool_calls ?? []) {
      out.tools[call.index] ??= { id: '', name: '', arguments: '' };
      const tool = out.tools[call.index]!;
      tool.id += call.id ?? '';
      tool.name += call.function?.name ?? '';
      tool.arguments += call.function?.arguments ?? '';
    }
  }
  return out;
}

describe('anthropic: chat', () => {
  it('answers a chat in OpenAI shape from the exact native request', async () => {
    const { data, response } = await client().chat.completions.create({ model: 'anthropic/claude-fx', messages: hello }).withResponse();
    expect(data).toMatchObject({ object: 'chat.completion', model: 'claude-fx', id: expect.stringMatching(/^msg_fx_/) });
    expect(data.choices).toEqual([{ index: 0, message: { role: 'assistant', content: `echo: ${said}`, refusal: null }, logprobs: null, finish_reason: 'stop' }]);
    expect(data.usage).toEqual({ prompt_tokens: 4, completion_tokens: 4, total_tokens: 8, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 } });
    expect(response.headers.get('x-gateway-provider')).toBe('anthropic');

    const id = response.headers.get('x-request-id')!;
    const seen = await nativeRequest(id);
    expect(seen.headers).toMatchObject({ ...NATIVE_HEADERS, accept: 'application/json', 'x-request-id': id });
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.body).toEqual({ model: 'claude-fx', max_tokens: 4096, messages: [{ role: 'user', content: said }] });
    expect(await logRow(id)).toMatchObject({ provider: 'anthropic', upstream_model: 'claude-fx', status: 200, prompt_tokens: 4, completion_tokens: 4, attempts: 1 });
  });

  it('lifts system and developer messages, merges same-role turns, and sends tool history as tool_use and tool_result blocks', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const toolCall = (id: string, city: string) => ({ id, type: 'function' as const, function: { name: 'get_weather', arguments: JSON.stringify({ city }) } });
    const { data, response } = await client()
      .chat.completions.create({
        model: 'anthropic/claude-fx',
        tools,
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'developer', content: [{ type: 'text', text: 'Answer in English.' }] },
          { role: 'user', content: 'What is the weather?' },
          { role: 'user', content: [{ type: 'text', text: 'In Paris and Rome.' }] },
          { role: 'assistant', content: 'Checking.', tool_calls: [toolCall('call_1', 'Paris'), toolCall('call_2', 'Rome')] },
          { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
          { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'rainy' }] },
          { role: 'user', content: 'Summarize.' },
        ],
      })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: tool said: sunny tool said: rainy Summarize.');

    const seen = await nativeRequest(response.headers.get('x-request-id')!);
    expect(seen.body).toEqual({
      model: 'claude-fx',
      max_tokens: 4096,
      system: [{ type: 'text', text: 'You are terse.' }, { type: 'text', text: 'Answer in English.' }],
      tools: [{ name: 'get_weather', input_schema: tools[0]!.function.parameters }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'What is the weather?' }, { type: 'text', text: 'In Paris and Rome.' }] },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Rome' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_1', content: 'sunny' },
            { type: 'tool_result', tool_use_id: 'call_2', content: 'rainy' },
            { type: 'text', text: 'Summarize.' },
          ],
        },
      ],
    });
  });

  it('sends image URLs as url sources and data URLs as base64 sources', async () => {
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
    const { response } = await client()
      .chat.completions.create({
        model: 'anthropic/claude-fx',
        messages: [{
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'image_url', image_url: { url: 'https://images.example.com/cat.jpg', detail: 'high' } },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
          ],
        }],
      })
      .withResponse();
    const seen = await nativeRequest(response.headers.get('x-request-id')!);
    expect(seen.body.messages).toEqual([{
      role: 'user',
      content: [
        { type: 'text', text: 'What is in these?' },
        { type: 'image', source: { type: 'url', url: 'https://images.example.com/cat.jpg' } },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
      ],
    }]);
  });

  it('maps sampling, stop, user and tool choice fields onto Anthropic\'s', async () => {
    const tools = [
      { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: {} } } },
      { type: 'function', function: { name: 'get_time' } },
    ];
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ max_completion_tokens: 64, max_tokens: 999, temperature: 0.2, top_p: 0.9, stop: 'END', user: 'user-42' },
        { max_tokens: 64, temperature: 0.2, top_p: 0.9, stop_sequences: ['END'], metadata: { user_id: 'user-42' } }],
      [{ max_tokens: 32, stop: ['A', 'B'], top_k: 5, seed: 7, presence_penalty: 0.5 }, { max_tokens: 32, stop_sequences: ['A', 'B'], top_k: 5 }],
      [{ tools, tool_choice: 'required' }, { tool_choice: { type: 'any' } }],
      [{ tools, tool_choice: 'none' }, { tool_choice: { type: 'none' } }],
      [{ tools, tool_choice: { type: 'function', function: { name: 'get_time' } } }, { tool_choice: { type: 'tool', name: 'get_time' } }],
      [{ tools, parallel_tool_calls: false }, { tool_choice: { type: 'auto', disable_parallel_tool_use: true } }],
    ];
    for (const [openai, native] of cases) {
      const { id } = await okJson(await chat({ model: 'anthropic/claude-fx', ...openai }));
      const seen = await nativeRequest(id);
      expect(seen.body).toMatchObject(native);
      if ('tools' in openai) {
        expect(seen.body.tools).toEqual([
          { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: {} } },
          { name: 'get_time', input_schema: { type: 'object', properties: {} } },
        ]);
      }
    }
  });

  it('sends the provider\'s default max_tokens, version and static headers, and maps max_tokens to length', async () => {
    const { id, body } = await okJson(await chat({ model: 'anthropic-tuned/claude-fx' }));
    expect(body.choices[0]).toMatchObject({ message: { content: 'echo: hello there ' }, finish_reason: 'length' });
    const seen = await nativeRequest(id);
    expect(seen.body.max_tokens).toBe(3);
    expect(seen.headers).toMatchObject({ 'anthropic-version': '2023-01-01', 'anthropic-beta': 'fixture-beta-1', 'x-api-key': ANTHROPIC_CREDENTIAL });
  });

  it.each([
    ['stop-end_turn', 'stop'],
    ['stop-stop_sequence', 'stop'],
    ['stop-max_tokens', 'length'],
    ['stop-model_context_window_exceeded', 'length'],
    ['stop-refusal', 'content_filter'],
    ['stop-pause_turn', 'stop'],
    ['stop-some_future_reason', 'stop'],
  ])('maps stop_reason %s to finish_reason %s, streamed and not', async (model, finish) => {
    const whole = await client().chat.completions.create({ model: `anthropic/${model}`, messages: hello });
    expect(whole.choices[0]!.finish_reason).toBe(finish);
    const streamed = await collect(await client().chat.completions.create({ model: `anthropic/${model}`, messages: hello, stream: true }));
    expect(streamed.finish).toBe(finish);
  });

  it('stops at a stop sequence', async () => {
    const { body } = await okJson(await chat({ model: 'anthropic/claude-fx', stop: ['there'] }));
    expect(body.choices[0]).toMatchObject({ message: { content: 'echo: hello ' }, finish_reason: 'stop' });
  });
});

describe('anthropic: streaming', () => {
  it('reassembles the stream exactly as the non-streamed answer, with usage last', async () => {
    const whole = await client().chat.completions.create({ model: 'anthropic/claude-fx', messages: hello });
    const { data: stream, response } = await client()
      .chat.completions.create({ model: 'anthropic/claude-fx', messages: hello, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const out = await collect(stream);
    expect(out.content).toBe(whole.choices[0]!.message.content);
    expect(out.finish).toBe('stop');
    expect(out.usage).toEqual(whole.usage);
    expect(out.ids.size).toBe(1);
    expect([...out.ids][0]).toMatch(/^msg_fx_/);

    const id = response.headers.get('x-request-id')!;
    const seen = await nativeRequest(id);
    expect(seen.headers).toMatchObject({ ...NATIVE_HEADERS, accept: 'text/event-stream' });
    expect(seen.body).toEqual({ model: 'claude-fx', max_tokens: 4096, messages: [{ role: 'user', content: said }], stream: true });
    expect(await logRow(id)).toMatchObject({ stream: 1, status: 200, stream_cut: 0, prompt_tokens: 4, completion_tokens: 4, usage_source: 'provider' });
  });

  it('sends OpenAI\'s chunk sequence: role first, one id, no usage chunk unless asked, then [DONE]', async () => {
    const res = await chat({ model: 'anthropic/claude-fx', stream: true });
    const id = res.headers.get('x-request-id')!;
    const events = await sseData(res);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as OpenAI.ChatCompletionChunk);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: 'echo: ' });
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'claude-fx' && c.choices.length === 1)).toBe(true);
    expect(chunks.at(-1)!.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    // The usage chunk was dropped for the client, but the log has the provider's count.
    expect(await logRow(id)).toMatchObject({ prompt_tokens: 4, completion_tokens: 4, usage_source: 'provider' });
  });
});

describe('anthropic: tool calls', () => {
  const tools = [
    { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
    { type: 'function' as const, function: { name: 'get_time', description: 'Local time' } },
  ];
  /** The fixture's tool input, as JSON text: what the arguments must be, exactly. */
  const input = (n: number) => JSON.stringify({ echo: said, n });

  it('returns tool_use blocks as tool calls (text before them kept)', async () => {
    const { data, response } = await client().chat.completions.create({ model: 'anthropic/claude-fx', messages: hello, tools }).withResponse();
    expect(data.choices[0]!.finish_reason).toBe('tool_calls');
    expect(data.choices[0]!.message.content).toBe('Calling get_weather and get_time.');
    expect(data.choices[0]!.message.tool_calls).toEqual([
      { id: 'toolu_fx_1', type: 'function', function: { name: 'get_weather', arguments: input(0) } },
      { id: 'toolu_fx_2', type: 'function', function: { name: 'get_time', arguments: input(1) } },
    ]);
    const seen = await nativeRequest(response.headers.get('x-request-id')!);
    expect(seen.body.tools).toEqual([
      { name: 'get_weather', input_schema: tools[0]!.function.parameters },
      { name: 'get_time', description: 'Local time', input_schema: { type: 'object', properties: {} } },
    ]);
  });

  it('streams tool calls with their own indexes; arguments reassemble to exactly what the model produced', async () => {
    const out = await collect(await client().chat.completions.create({ model: 'anthropic/claude-fx', messages: hello, tools, stream: true }));
    expect(out.content).toBe('Calling get_weather and get_time.');
    expect(out.tools).toEqual([
      { id: 'toolu_fx_1', name: 'get_weather', arguments: input(0) },
      { id: 'toolu_fx_2', name: 'get_time', arguments: input(1) },
    ]);
    expect(out.finish).toBe('tool_calls');
  });

  it('streams a forced tool call (no text block first) at index 0', async () => {
    const choice = { type: 'function' as const, function: { name: 'get_time' } };
    const out = await collect(await client().chat.completions.create({ model: 'anthropic/claude-fx', messages: hello, tools, tool_choice: choice, stream: true }));
    expect(out.content).toBe('');
    expect(out.tools).toEqual([{ id: 'toolu_fx_1', name: 'get_time', arguments: input(0) }]);
  });
});

describe('anthropic: what it cannot express is refused before any upstream call', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['n > 1', { n: 2 }, 'n'],
    ['logprobs', { logprobs: true }, 'logprobs'],
    ['JSON mode', { response_format: { type: 'json_object' } }, 'response_format'],
    ['temperature above 1', { temperature: 1.5 }, 'temperature'],
    ['an audio part', { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] }, 'messages[0].content[0].type'],
    ['a BMP image', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } }] }] }, 'messages[0].content[0].image_url'],
    ['tool arguments that are not an object', { messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1]' } }] }] }, 'messages[0].tool_calls[0].function.arguments'],
    ['only a system prompt', { messages: [{ role: 'system', content: 'hi' }] }, 'messages'],
  ])('%s', async (_, body, param) => {
    const { id, error } = await expectError(await chat({ model: 'anthropic/claude-fx', ...body }), { status: 400, code: 'invalid_request', param, keyId: 'team-a' });
    expect(error.message).toContain('Anthropic');
    expect(await upstreamSaw(id)).toEqual([]);
  });

  it.each(['/v1/embeddings', '/v1/completions'])('answers %s with 400 unsupported_endpoint', async (path) => {
    const body = path === '/v1/embeddings' ? { model: 'anthropic/claude-fx', input: 'hi' } : { model: 'anthropic/claude-fx', prompt: 'hi' };
    const { id } = await expectError(await postJson(path, body), { status: 400, code: 'unsupported_endpoint', param: 'model', keyId: 'team-a' });
    expect(await upstreamSaw(id)).toEqual([]);
  });
});

describe('anthropic: errors', () => {
  it.each<[string, Expected, string]>([
    ['fault-400', { status: 400, code: 'upstream_rejected' }, '(invalid_request_error)'],
    ['fault-401', { status: 502, code: 'upstream_credential_rejected' }, 'rejected the gateway\'s credential'],
    ['fault-403', { status: 502, code: 'upstream_credential_rejected' }, 'rejected the gateway\'s credential'],
    ['fault-404', { status: 404, code: 'upstream_rejected' }, '(not_found_error)'],
    ['fault-413', { status: 413, code: 'upstream_rejected' }, '(request_too_large)'],
    ['fault-500', { status: 502, code: 'upstream_failed' }, '(api_error)'],
    ['fault-529', { status: 502, code: 'upstream_failed' }, '529 (overloaded_error): Overloaded'],
  ])('maps %s onto the OpenAI error contract, scrubbed', async (model, want, message) => {
    const { error, text, row } = await expectError(await chat({ model: `anthropic/${model}` }), { ...want, keyId: 'team-a' });
    expect(error.message).toContain(message);
    for (const leak of [ANTHROPIC_CREDENTIAL, 'hunter2', 'internal.example.com']) expect(text).not.toContain(leak);
    expect(row).toMatchObject({ provider: 'anthropic', upstream_model: model, attempts: 1 });
  });

  it('passes a 429 on as upstream_rate_limited with its retry-after (RateLimitError)', async () => {
    const err = await clientError(client().chat.completions.create({ model: 'anthropic/fault-429', messages: hello }));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.code).toBe('upstream_rate_limited');
    expect(err.headers?.get('retry-after')).toBe('2');
    expect(err.headers?.get('anthropic-ratelimit-requests-remaining')).toBeNull();
  });

  it('reports a refused credential as 502, never 401, and never shows either credential', async () => {
    const res = await chat({ model: 'anthropic-badkey/claude-fx' });
    const { id, text } = await expectError(res, { status: 502, code: 'upstream_credential_rejected', keyId: 'team-a' });
    expect(text).not.toContain('sk-ant-');
    expect((await nativeRequest(id)).headers['x-api-key']).toBe('sk-ant-not-the-right-one-0000');
  });
});

describe('anthropic: retries and failover', () => {
  it('retries a 529 at the same target', async () => {
    const { id, body } = await okJson(await chat({ model: 'claude-retry-529' }));
    expect(body.choices[0]!.message.content).toBe(`echo: ${said}`);
    expect((await upstreamSaw(id)).map((r) => r.path)).toEqual(['/anthropic/v1/messages', '/anthropic/v1/messages']);
    expect(await logRow(id)).toMatchObject({ provider: 'anthropic', attempts: 2, status: 200 });
  });

  it('fails over from an overloaded Anthropic to an OpenAI target', async () => {
    const res = await chat({ model: 'claude-overloaded' });
    const { id, body } = await okJson(res);
    expect(res.headers.get('x-gateway-provider')).toBe('openai');
    expect(body.choices[0]!.message.content).toBe(`echo: ${said}`);
    expect((await upstreamSaw(id)).map((r) => r.path)).toEqual(['/anthropic/v1/messages', '/openai/v1/chat/completions']);
  });

  it('fails over when Anthropic\'s stream errors before any content', async () => {
    const { data, response } = await client().chat.completions.create({ model: 'claude-error-first', messages: hello, stream: true }).withResponse();
    const out = await collect(data);
    expect(out.content).toBe(`echo: ${said}`);
    expect(response.headers.get('x-gateway-provider')).toBe('openai');
  });

  it('fails over from the OpenAI fixture to Anthropic: the client sees a normal answer and stream', async () => {
    const { data, response } = await client().chat.completions.create({ model: 'claude-after-openai', messages: hello }).withResponse();
    expect(data.choices[0]!.message.content).toBe(`echo: ${said}`);
    expect(response.headers.get('x-gateway-provider')).toBe('anthropic');
    const id = response.headers.get('x-request-id')!;
    const seen = await upstreamSaw(id);
    expect(seen.map((r) => r.path)).toEqual(['/compat/v1/chat/completions', '/anthropic/v1/messages']);
    expect(seen[1]!.body).toEqual({ model: 'claude-fx', max_tokens: 4096, messages: [{ role: 'user', content: said }] });
    expect(await logRow(id)).toMatchObject({ provider: 'anthropic', upstream_model: 'claude-fx', attempts: 2, status: 200 });

    const streamed = await client().chat.completions.create({ model: 'claude-after-openai', messages: hello, stream: true }).withResponse();
    const out = await collect(streamed.data);
    expect(out.content).toBe(`echo: ${said}`);
    expect(out.finish).toBe('stop');
    expect(streamed.response.headers.get('x-gateway-provider')).toBe('anthropic');
  });
});

describe('anthropic: streams that fail after they started', () => {
  it('ends with an in-band error when Anthropic sends an error event mid-stream', async () => {
    const res = await chat({ model: 'anthropic/fault-error-mid-stream', stream: true });
    const id = res.headers.get('x-request-id')!;
    const events = await sseData(res);
    expect(JSON.parse(events[0]!).choices[0].delta).toEqual({ role: 'assistant', content: 'echo: ' });
    const last = JSON.parse(events.at(-1)!) as { error: { code: string; message: string } };
    expect(last.error.code).toBe('stream_cut');
    expect(last.error.message).toContain('overloaded_error');
    expect(events).not.toContain('[DONE]');
    expect(await logRow(id)).toMatchObject({ stream_cut: 1, error_code: 'stream_cut' });
  });

  it('treats a stream that closes without message_stop as cut', async () => {
    const res = await chat({ model: 'anthropic/fault-cut', stream: true });
    const id = res.headers.get('x-request-id')!;
    const events = await sseData(res);
    const content = events.slice(0, -1).map((e) => (JSON.parse(e) as OpenAI.ChatCompletionChunk).choices[0]?.delta.content ?? '').join('');
    expect(content).toBe(`echo: ${said}`);
    expect((JSON.parse(events.at(-1)!) as { error: { code: string } }).error.code).toBe('stream_cut');
    expect(await logRow(id)).toMatchObject({ stream_cut: 1, error_code: 'stream_cut' });
    await expect(collect(await client().chat.completions.create({ model: 'anthropic/fault-cut', messages: hello, stream: true }))).rejects.toThrow();
  });
});

describe('anthropic: prompt caching in usage and cost', () => {
  // The fixture reports 3000 cache reads and 1000 cache writes beside 4 uncached prompt tokens.
  const usage = { prompt_tokens: 4004, completion_tokens: 4, total_tokens: 4008, prompt_tokens_details: { cached_tokens: 3000, cache_write_tokens: 1000 } };

  it('counts cache reads and writes in the prompt and prices each at its own rate, streamed and not', async () => {
    // 4 × $3 + 3000 × $0.30 + 1000 × $3.75 + 4 × $15 per million tokens.
    const cost = (4 * 3 + 3000 * 0.3 + 1000 * 3.75 + 4 * 15) / 1e6;
    const whole = await client().chat.completions.create({ model: 'anthropic/prompt-cache', messages: hello }).withResponse();
    expect(whole.data.usage).toEqual(usage);
    const stream = await client()
      .chat.completions.create({ model: 'anthropic/prompt-cache', messages: hello, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    expect((await collect(stream.data)).usage).toEqual(usage);
    for (const response of [whole.response, stream.response]) {
      const row = (await logRow(response.headers.get('x-request-id')!)) as Row;
      expect(row).toMatchObject({ prompt_tokens: 4004, completion_tokens: 4, cached_tokens: 3000, cache_write_tokens: 1000 });
      expect(row.cost_usd).toBeCloseTo(cost, 12);
    }
  });

  it('prices cache reads and writes at the input price when the model has no cache prices', async () => {
    const { response } = await client().chat.completions.create({ model: 'anthropic/prompt-cache-plain', messages: hello }).withResponse();
    const row = (await logRow(response.headers.get('x-request-id')!)) as Row;
    expect(row.cost_usd).toBeCloseTo((4004 * 3 + 4 * 15) / 1e6, 12);
  });
});
