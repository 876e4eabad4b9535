import { describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors';
import { anthropicFormat } from '../src/ingress/anthropic';
import { KEYS, PROVIDER_SECRETS } from './support/constants';
import { gateway, logRow, upstreamSaw } from './support/gateway';
import { limitedKey } from './support/test-config';

/**
 * Anthropic's Messages API in front of any routed model: raw HTTP as Anthropic's
 * SDKs and Claude Code send it (x-api-key, anthropic-version), the exact OpenAI chat
 * body the fixture upstream received, and the exact Anthropic-shaped answer.
 */

type Json = Record<string, unknown>;
interface SseEvent {
  event: string;
  data: Json;
}

function post(path: string, body: unknown, key: string | null = KEYS.teamA, headers: Record<string, string> = {}) {
  return gateway(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...(key ? { 'x-api-key': key } : {}), ...headers },
    body: JSON.stringify(body),
  });
}

const requestIdOf = (res: Response) => res.headers.get('x-request-id')!;
const messageIdOf = (res: Response) => `msg_${requestIdOf(res).slice(4)}`;
const zeroUsage = { input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 };
const usage = (input: number, output: number) => ({ ...zeroUsage, input_tokens: input, output_tokens: output });

/** Anthropic's SSE: every event named, its data's `type` the same name. */
async function events(res: Response): Promise<SseEvent[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const lines = block.split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^event: /);
      expect(lines[1]).toMatch(/^data: /);
      const parsed = { event: lines[0]!.slice(7), data: JSON.parse(lines[1]!.slice(6)) as Json };
      expect(parsed.data.type).toBe(parsed.event);
      return parsed;
    });
}

async function expectAnthropicError(res: Response, status: number, type: string, message?: string | RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/json');
  const body = (await res.json()) as { type: string; error: { type: string; message: string }; request_id: string };
  expect(Object.keys(body).sort()).toEqual(['error', 'request_id', 'type']);
  expect(body.type).toBe('error');
  expect(Object.keys(body.error).sort()).toEqual(['message', 'type']);
  expect(body.error.type).toBe(type);
  expect(body.request_id).toBe(requestIdOf(res));
  if (message !== undefined) expect(body.error.message).toMatch(message);
  const text = JSON.stringify(body);
  for (const secret of [...Object.values(KEYS), ...Object.values(PROVIDER_SECRETS)]) expect(text).not.toContain(secret);
  return body.error;
}

const hello = { model: 'gpt-test', max_tokens: 100, messages: [{ role: 'user', content: 'hello there gateway' }] };

const weatherTool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const weatherFunction = {
  type: 'function',
  function: { name: 'get_weather', description: 'Current weather for a city', parameters: weatherTool.input_schema },
};

describe('POST /v1/messages, not streamed', () => {
  it('answers a text message in Anthropic shape from an OpenAI upstream, authenticated by x-api-key', async () => {
    const res = await post('/v1/messages', {
      ...hello, system: 'Be brief.', temperature: 0.5, top_p: 0.9, top_k: 5, stop_sequences: ['END'], metadata: { user_id: 'user-7' },
      thinking: { type: 'enabled', budget_tokens: 1024 },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-gateway-provider')).toBe('openai');
    expect(await res.json()).toEqual({
      id: messageIdOf(res),
      type: 'message',
      role: 'assistant',
      model: 'gpt-test',
      content: [{ type: 'text', text: 'echo: hello there gateway' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      // The fixture counts words plus one per message: "Be brief." 3, the question 4.
      usage: usage(7, 4),
    });

    const [seen] = await upstreamSaw(requestIdOf(res));
    expect(seen!.path).toBe('/openai/v1/chat/completions');
    expect(seen!.headers.authorization).toBe(`Bearer ${PROVIDER_SECRETS.OPENAI_API_KEY}`);
    expect(seen!.headers['x-api-key']).toBeUndefined();
    // top_k and thinking have no OpenAI equivalent every model accepts: dropped.
    expect(seen!.body).toEqual({
      model: 'gpt-test',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hello there gateway' },
      ],
      max_tokens: 100, temperature: 0.5, top_p: 0.9, stop: ['END'], user: 'user-7',
    });

    expect(await logRow(requestIdOf(res))).toMatchObject({
      key_id: 'team-a', endpoint: 'messages', model: 'gpt-test', provider: 'openai', upstream_model: 'gpt-test',
      stream: 0, status: 200, error_code: null, prompt_tokens: 7, completion_tokens: 4, attempts: 1,
    });
  });

  it('lifts system blocks, and translates images, documents and thinking in the history', async () => {
    const res = await post('/v1/messages', {
      model: 'gpt-test',
      max_tokens: 50,
      system: [
        { type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } },
        { type: 'text', text: 'Answer in English.' },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is in these?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'spec.pdf' },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'plain notes' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Let me look.', signature: 'sig' },
            { type: 'text', text: 'A cat and a spec.' },
          ],
        },
        { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'opaque' }] },
        { role: 'user', content: [{ type: 'text', text: 'thanks', cache_control: { type: 'ephemeral' } }] },
      ],
    });
    expect(res.status).toBe(200);
    const [seen] = await upstreamSaw(requestIdOf(res));
    expect(seen!.body.messages).toEqual([
      { role: 'system', content: 'You are terse.\n\nAnswer in English.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is in these?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          { type: 'file', file: { filename: 'spec.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
          { type: 'text', text: 'plain notes' },
        ],
      },
      // Thinking is dropped; a turn that was only thinking is dropped whole.
      { role: 'assistant', content: 'A cat and a spec.' },
      { role: 'user', content: 'thanks' },
    ]);
    expect(((await res.json()) as { content: unknown }).content).toEqual([{ type: 'text', text: 'echo: thanks' }]);
  });

  it('turns tools into functions and a tool call into a tool_use block', async () => {
    const res = await post('/v1/messages', {
      ...hello,
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools: [weatherTool],
      tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
    });
    expect(res.status).toBe(200);
    const [seen] = await upstreamSaw(requestIdOf(res));
    expect(seen!.body).toEqual({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      max_tokens: 100,
      tools: [weatherFunction],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false,
    });
    // The fixture calls the tool with {"echo": <last user text>}, id call_fx_1.
    expect(await res.json()).toEqual({
      id: messageIdOf(res), type: 'message', role: 'assistant', model: 'gpt-test',
      content: [{ type: 'tool_use', id: 'call_fx_1', name: 'get_weather', input: { echo: 'weather in Paris?' } }],
      stop_reason: 'tool_use', stop_sequence: null, usage: usage(4, 3),
    });
  });

  it.each([
    [{ type: 'auto' }, 'auto', undefined],
    [{ type: 'any', disable_parallel_tool_use: true }, 'required', false],
    [{ type: 'none' }, 'none', undefined],
  ])('maps tool_choice %j', async (choice, expected, parallel) => {
    const res = await post('/v1/messages', { ...hello, tools: [weatherTool], tool_choice: choice });
    expect(res.status).toBe(200);
    await res.text();
    const [seen] = await upstreamSaw(requestIdOf(res));
    expect(seen!.body.tool_choice).toBe(expected);
    expect(seen!.body.parallel_tool_calls).toBe(parallel);
  });

  it('sends a tool_use round trip back as tool_calls and tool messages with matching ids', async () => {
    const res = await post('/v1/messages', {
      ...hello,
      tools: [weatherTool],
      tool_choice: { type: 'none' },
      messages: [
        { role: 'user', content: 'weather in Paris and Oslo?' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Checking both.' },
            { type: 'tool_use', id: 'toolu_paris', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'toolu_oslo', name: 'get_weather', input: { city: 'Oslo' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_paris', content: [{ type: 'text', text: '18C' }, { type: 'text', text: 'sunny' }] },
            {
              type: 'tool_result', tool_use_id: 'toolu_oslo', is_error: true,
              content: [{ type: 'text', text: 'station offline' }, { type: 'image', source: { type: 'url', url: 'https://example.com/map.png' } }],
            },
            { type: 'text', text: 'and tomorrow?' },
          ],
        },
      ],
    });
    expect(res.status).toBe(200);
    const [seen] = await upstreamSaw(requestIdOf(res));
    expect(seen!.body.messages).toEqual([
      { role: 'user', content: 'weather in Paris and Oslo?' },
      {
        role: 'assistant',
        content: 'Checking both.',
        tool_calls: [
          { id: 'toolu_paris', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'toolu_oslo', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_paris', content: '18C\nsunny' },
      { role: 'tool', tool_call_id: 'toolu_oslo', content: 'Tool error: station offline' },
      // A tool message carries only text: the result's image follows in the user turn.
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'https://example.com/map.png' } },
          { type: 'text', text: 'and tomorrow?' },
        ],
      },
    ]);
    expect(((await res.json()) as { content: unknown }).content).toEqual([{ type: 'text', text: 'echo: and tomorrow?' }]);
  });

  it('answers from the demo provider too', async () => {
    const res = await post('/v1/messages', { ...hello, model: 'demo' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { content: { text: string }[]; stop_reason: string };
    expect(body.content).toEqual([{ type: 'text', text: 'Demo model (offline, deterministic) heard: hello there gateway' }]);
    expect(body.stop_reason).toBe('end_turn');
  });
});

describe('POST /v1/messages, streamed', () => {
  it('streams text as Anthropic events in order, usage held for message_delta', async () => {
    const whole = (await (await post('/v1/messages', hello)).json()) as { content: { text: string }[] };
    const res = await post('/v1/messages', { ...hello, stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const list = await events(res);
    const id = requestIdOf(res);

    const deltas = ['echo: ', 'hello ', 'there ', 'gateway'];
    expect(list).toEqual([
      {
        event: 'message_start',
        data: {
          type: 'message_start',
          message: {
            id: messageIdOf(res), type: 'message', role: 'assistant', model: 'gpt-test', content: [],
            stop_reason: null, stop_sequence: null, usage: zeroUsage,
          },
        },
      },
      { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
      ...deltas.map((text) => ({
        event: 'content_block_delta',
        data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } },
      })),
      { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
      {
        event: 'message_delta',
        data: { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: usage(4, 4) },
      },
      { event: 'message_stop', data: { type: 'message_stop' } },
    ]);
    expect(deltas.join('')).toBe(whole.content[0]!.text);

    const [seen] = await upstreamSaw(id);
    expect(seen!.body).toEqual({ ...hello, stream: true, stream_options: { include_usage: true } });
    expect(await logRow(id)).toMatchObject({
      endpoint: 'messages', stream: 1, status: 200, stream_cut: 0, prompt_tokens: 4, completion_tokens: 4, usage_source: 'provider',
    });
  });

  it('streams a tool call as a tool_use block with input_json_delta pieces', async () => {
    const res = await post('/v1/messages', { ...hello, stream: true, tools: [weatherTool] });
    const list = await events(res);
    expect(list.map((e) => e.event)).toEqual([
      'message_start', 'content_block_start',
      ...list.slice(2, -3).map(() => 'content_block_delta'),
      'content_block_stop', 'message_delta', 'message_stop',
    ]);
    expect(list[1]!.data).toEqual({
      type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'call_fx_1', name: 'get_weather', input: {} },
    });
    const pieces = list.slice(2, -3).map((e) => e.data as { index: number; delta: { type: string; partial_json: string } });
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.every((p) => p.index === 0 && p.delta.type === 'input_json_delta')).toBe(true);
    expect(JSON.parse(pieces.map((p) => p.delta.partial_json).join(''))).toEqual({ echo: 'hello there gateway' });
    expect(list.at(-2)!.data).toEqual({
      type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: usage(4, 3),
    });
  });

  it('ends a stream cut mid-way with one Anthropic error event, and the row says cut', async () => {
    const res = await post('/v1/messages', { ...hello, model: 'fixture/fault-reset-stream', stream: true });
    expect(res.status).toBe(200);
    const list = await events(res);
    expect(list.slice(0, 3).map((e) => e.event)).toEqual(['message_start', 'content_block_start', 'content_block_delta']);
    expect(list.filter((e) => e.event === 'error')).toHaveLength(1);
    expect(list.map((e) => e.event)).not.toContain('message_stop');
    expect(list.at(-1)).toEqual({
      event: 'error',
      data: {
        type: 'error',
        error: { type: 'api_error', message: expect.any(String) },
        request_id: requestIdOf(res),
      },
    });
    expect(await logRow(requestIdOf(res))).toMatchObject({ status: 200, stream: 1, stream_cut: 1, error_code: 'stream_cut' });
  });
});

describe('errors in Anthropic shape', () => {
  it('refuses a request without max_tokens, naming the field', async () => {
    const { max_tokens: _, ...body } = hello;
    await expectAnthropicError(await post('/v1/messages', body), 400, 'invalid_request_error', 'Invalid request: max_tokens: Field required');
  });

  it.each([
    [{ tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 5 }] }, /^Invalid request: tools\[0\]\.type: server tool type "web_search_20250305" is not supported/],
    [{ tools: [{ type: 'bash_20250124', name: 'bash' }] }, /tools\[0\]\.type: server tool type "bash_20250124"/],
    [{ tools: [{ name: 'no_schema' }] }, /^Invalid request: tools\[0\]\.input_schema: Field required$/],
    [{ messages: [{ role: 'system', content: 'x' }] }, /^Invalid request: messages\[0\]\.role: role must be "user" or "assistant"/],
    [
      { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'file_1' } }] }] },
      /^Invalid request: messages\[0\]\.content\[0\]\.source\.type: Image source type "file" is not supported by this gateway \(supported: base64, url\)$/,
    ],
    [{ messages: [{ role: 'user', content: [{ type: 'audio' }] }] }, /messages\[0\]\.content\[0\]\.type: User content block type "audio" is not supported/],
    [{ messages: [{ role: 'assistant', content: [{ type: 'tool_result', tool_use_id: 'x' }] }] }, /Assistant content block type "tool_result"/],
    [{ messages: [{ role: 'user', content: 42 }] }, /messages\[0\]\.content: must be a string or an array of content blocks$/],
    [{ temperature: 1.5 }, /^Invalid request: temperature: /],
  ])('refuses %j with a 400 naming the field', async (patch, message) => {
    await expectAnthropicError(await post('/v1/messages', { ...hello, ...patch }), 400, 'invalid_request_error', message);
  });

  it('answers a bad or missing key with authentication_error, a disallowed model with permission_error', async () => {
    await expectAnthropicError(await post('/v1/messages', hello, 'sk-not-a-real-key'), 401, 'authentication_error', 'Incorrect API key provided.');
    await expectAnthropicError(await post('/v1/messages', hello, null), 401, 'authentication_error');
    await expectAnthropicError(await post('/v1/messages', { ...hello, model: 'demo' }, KEYS.teamB), 403, 'permission_error', /may not use the model "demo"/);
  });

  it('answers an unknown model with not_found_error, and logs it', async () => {
    const res = await post('/v1/messages', { ...hello, model: 'no-such-model' });
    await expectAnthropicError(res, 404, 'not_found_error', 'The model "no-such-model" does not exist on this gateway');
    expect(await logRow(requestIdOf(res))).toMatchObject({ endpoint: 'messages', status: 404, error_code: 'model_not_found' });
  });

  it('answers an upstream 500 with api_error', async () => {
    const res = await post('/v1/messages', { ...hello, model: 'fixture/fault-500' });
    await expectAnthropicError(res, 502, 'api_error');
  });

  it("answers the provider's 429 with rate_limit_error, keeping its retry-after", async () => {
    const res = await post('/v1/messages', { ...hello, model: 'fixture/fault-429' });
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.headers.get('retry-after-ms')).toBe('2000');
    await expectAnthropicError(res, 429, 'rate_limit_error');
  });

  it('applies the key limits: rate-limit headers on answers, rate_limit_error when a limit refuses', async () => {
    const ok = await post('/v1/messages', hello, limitedKey('headers'));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-ratelimit-limit-requests')).toBe('100');
    await ok.text();
    // 300 tokens a minute: reserving 1,000 completion tokens can never fit.
    const refused = await post('/v1/messages', { ...hello, max_tokens: 1000 }, limitedKey('tokens'));
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectAnthropicError(refused, 429, 'rate_limit_error');
    expect(await upstreamSaw(requestIdOf(refused))).toHaveLength(0);
  });

  it('answers unknown paths and wrong methods under /v1/messages in Anthropic shape', async () => {
    await expectAnthropicError(await gateway('/v1/messages', { method: 'GET', headers: { 'x-api-key': KEYS.teamA } }), 405, 'invalid_request_error');
    await expectAnthropicError(await post('/v1/messages/batches', hello), 404, 'not_found_error');
    await expectAnthropicError(
      await gateway('/v1/messages', { method: 'POST', headers: { 'x-api-key': KEYS.teamA, 'content-type': 'application/json' }, body: '{"model":' }),
      400, 'invalid_request_error', 'Request body is not valid JSON',
    );
  });

  it('maps every gateway status to the Anthropic error type its SDKs expect', () => {
    const format = anthropicFormat('req_0123');
    const typeOf = async (error: GatewayError) => ((await format.errorResponse(error).json()) as { error: { type: string } }).error.type;
    return Promise.all([
      expect(typeOf(new GatewayError('request_too_large', 'big'))).resolves.toBe('request_too_large'),
      expect(typeOf(new GatewayError('all_targets_unavailable', 'down'))).resolves.toBe('overloaded_error'),
      expect(typeOf(new GatewayError('upstream_failed', 'overloaded', { status: 529 }))).resolves.toBe('overloaded_error'),
      expect(typeOf(new GatewayError('upstream_timeout', 'slow'))).resolves.toBe('timeout_error'),
      expect(typeOf(new GatewayError('internal_error', 'bug'))).resolves.toBe('api_error'),
      expect(typeOf(new GatewayError('method_not_allowed', 'no'))).resolves.toBe('invalid_request_error'),
    ]);
  });
});

describe('POST /v1/messages/count_tokens', () => {
  it("answers the gateway's own estimate without calling a provider or charging limits", async () => {
    // 300 tokens a minute: a call reserving this prompt would be refused; counting is not a call.
    const long = 'word '.repeat(100);
    const res = await post('/v1/messages/count_tokens', { model: 'gpt-test', system: 'Be brief.', messages: [{ role: 'user', content: long }] }, limitedKey('tokens'));
    expect(res.status).toBe(200);
    // 40 per chat + per message 5 + its role and text: system (6 + 9) and user (4 + 500).
    expect(await res.json()).toEqual({ input_tokens: 40 + 5 + 6 + 9 + 5 + 4 + 500 });
    expect(res.headers.get('x-ratelimit-limit-tokens')).toBeNull();
    expect(await upstreamSaw(requestIdOf(res))).toHaveLength(0);
    expect(await logRow(requestIdOf(res))).toMatchObject({ endpoint: 'messages.count_tokens', model: 'gpt-test', status: 200, provider: null, attempts: 0 });
  });

  it('checks the model like a call does, and needs no max_tokens', async () => {
    await expectAnthropicError(await post('/v1/messages/count_tokens', { model: 'nope', messages: hello.messages }), 404, 'not_found_error');
    await expectAnthropicError(await post('/v1/messages/count_tokens', { model: 'demo', messages: hello.messages }, KEYS.teamB), 403, 'permission_error');
    await expectAnthropicError(await post('/v1/messages/count_tokens', { model: 'gpt-test', messages: [] }), 400, 'invalid_request_error', /messages: must contain at least one message/);
  });
});

describe('the response cache behind /v1/messages', () => {
  /** Writes happen in waitUntil: send until the entry is readable. */
  async function hit(body: Json): Promise<Response> {
    for (let i = 0; i < 50; i++) {
      const res = await post('/v1/messages', body);
      if (res.headers.get('x-gateway-cache') === 'HIT') return res;
      await res.text();
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('entry never became a hit');
  }

  it('answers a hit on a cached alias in Anthropic shape, as JSON and as a stream', async () => {
    const body = { model: 'cached', max_tokens: 64, temperature: 0, messages: [{ role: 'user', content: `cache me ${crypto.randomUUID()}` }] };
    const first = await post('/v1/messages', body);
    expect(first.headers.get('x-gateway-cache')).toBe('MISS');
    const miss = (await first.json()) as Json;

    const again = await hit(body);
    expect(await upstreamSaw(requestIdOf(again))).toHaveLength(0);
    expect(await again.json()).toEqual({ ...miss, id: messageIdOf(again) });
    expect(await logRow(requestIdOf(again))).toMatchObject({ endpoint: 'messages', cache_status: 'HIT', status: 200, attempts: 0 });

    const replay = await post('/v1/messages', { ...body, stream: true });
    expect(replay.headers.get('x-gateway-cache')).toBe('HIT');
    const list = await events(replay);
    expect(list.map((e) => e.event)).toEqual([
      'message_start', 'content_block_start',
      ...list.slice(2, -3).map(() => 'content_block_delta'),
      'content_block_stop', 'message_delta', 'message_stop',
    ]);
    const text = list.slice(2, -3).map((e) => (e.data.delta as { text: string }).text).join('');
    expect(text).toBe((miss.content as { text: string }[])[0]!.text);
    expect(list.at(-2)!.data.usage).toEqual(miss.usage);
  });
});

describe('the stream framer', () => {
  const chunk = (delta: Json, finish: string | null = null) =>
    JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] });

  it('numbers text and several tool calls as consecutive blocks, and reports cached prompt tokens apart', () => {
    const framer = anthropicFormat('req_abc').framer();
    const out = [
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Let me check.' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"x":1}' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'b', arguments: '{}' } }] }),
      chunk({}, 'tool_calls'),
    ].map((c) => framer.chunk(c, false));
    out.push(framer.chunk(JSON.stringify({ id: 'c', choices: [], usage: { prompt_tokens: 30, completion_tokens: 9, prompt_tokens_details: { cached_tokens: 20 } } }), true));
    out.push(framer.done());
    const data = out.join('').split('\n\n').filter(Boolean).map((e) => JSON.parse(e.split('\n')[1]!.slice(6)) as Json);
    expect(data.slice(1)).toEqual([
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Let me check.' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_a', name: 'a', input: {} } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"x":1}' } },
      { type: 'content_block_stop', index: 1 },
      { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'call_b', name: 'b', input: {} } },
      { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{}' } },
      { type: 'content_block_stop', index: 2 },
      {
        type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null },
        usage: { input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 20, output_tokens: 9 },
      },
      { type: 'message_stop' },
    ]);
  });

  it('sends message_delta at the end when the provider reports no usage, mapping length to max_tokens', () => {
    const framer = anthropicFormat('req_abc').framer();
    const text = framer.chunk(chunk({ content: 'cut' }), false) + framer.chunk(chunk({}, 'length'), false);
    expect(text).not.toContain('message_delta');
    const end = framer.done();
    expect(end).toBe(
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}\n\n' +
        'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    );
  });
});

describe('the answer mapping', () => {
  const answer = (message: Json, finish: string) =>
    JSON.parse(anthropicFormat('req_abc').answer({ id: 'c', model: 'm', choices: [{ index: 0, message, finish_reason: finish }] }, undefined)) as Json;

  it('maps stop reasons, calling a tool whatever the finish says, and a refusal', () => {
    const call = { id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } };
    expect(answer({ role: 'assistant', content: 'x' }, 'length').stop_reason).toBe('max_tokens');
    expect(answer({ role: 'assistant', content: 'x' }, 'content_filter').stop_reason).toBe('refusal');
    expect(answer({ role: 'assistant', content: null, tool_calls: [call] }, 'stop')).toMatchObject({
      stop_reason: 'tool_use', content: [{ type: 'tool_use', id: 'call_1', name: 'f', input: {} }],
    });
    expect(answer({ role: 'assistant', content: null, refusal: 'I cannot help with that.' }, 'stop')).toMatchObject({
      stop_reason: 'refusal', content: [{ type: 'text', text: 'I cannot help with that.' }],
    });
  });

  it('refuses to pass on tool arguments that are not a JSON object', () => {
    for (const args of ['{"city": "Par', '[1,2]']) {
      const broken = { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: args } }] };
      expect(() => answer(broken, 'tool_calls')).toThrow(expect.objectContaining({ code: 'upstream_invalid_response', status: 502 }));
    }
  });
});
