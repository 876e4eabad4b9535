import { describe, expect, it } from 'vitest';
import { PROVIDER_SECRETS } from './support/constants';
import { client, gateway, logRow, postJson, sseData, upstreamSaw } from './support/gateway';

const hello = [{ role: 'user' as const, content: 'hello there gateway' }];

describe('chat completions through the openai client', () => {
  it('answers a plain chat and names the provider and upstream model', async () => {
    const { data, response } = await client().chat.completions.create({ model: 'gpt-test', messages: hello }).withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: hello there gateway');
    expect(data.usage).toEqual({ prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 });
    expect(response.headers.get('x-gateway-provider')).toBe('openai');
    expect(response.headers.get('x-gateway-model')).toBe('gpt-test');
    const id = response.headers.get('x-request-id')!;
    expect(id).toMatch(/^req_[0-9a-f]{32}$/);

    const row = await logRow(id);
    expect(row).toMatchObject({
      key_id: 'team-a', endpoint: 'chat.completions', model: 'gpt-test', provider: 'openai', upstream_model: 'gpt-test',
      stream: 0, status: 200, error_code: null, stream_cut: 0, prompt_tokens: 4, completion_tokens: 4, attempts: 1,
    });
    expect(row.latency_ms).toBeGreaterThanOrEqual(0);
    const [seen] = await upstreamSaw(id);
    expect(seen!.headers.authorization).toBe(`Bearer ${PROVIDER_SECRETS.OPENAI_API_KEY}`);
  });

  it('reassembles a streamed answer exactly as the non-streamed one', async () => {
    const whole = await client().chat.completions.create({ model: 'gpt-test', messages: hello });
    const stream = await client().chat.completions.create({ model: 'gpt-test', messages: hello, stream: true });
    let text = '';
    let finish: string | null = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      expect(chunk.usage ?? null).toBeNull();
    }
    expect(text).toBe(whole.choices[0]!.message.content);
    expect(finish).toBe('stop');
    expect(chunks).toBeGreaterThan(3);
  });

  it('asks the upstream for usage, logs it, and strips the usage chunk the client did not ask for', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'gpt-test', messages: hello, stream: true });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const id = res.headers.get('x-request-id')!;
    const events = await sseData(res);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: unknown[] });
    expect(chunks.every((c) => c.choices.length > 0)).toBe(true);

    const [seen] = await upstreamSaw(id);
    expect(seen!.body.stream_options).toEqual({ include_usage: true });
    const row = await logRow(id);
    expect(row).toMatchObject({ stream: 1, status: 200, stream_cut: 0, prompt_tokens: 4, completion_tokens: 4 });
    expect(row.ttfb_ms).not.toBeNull();
  });

  it('passes the usage chunk on when the client asks for it', async () => {
    const stream = await client().chat.completions.create({
      model: 'gpt-test', messages: hello, stream: true, stream_options: { include_usage: true },
    });
    let usage: unknown = null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage).toEqual({ prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 });
  });

  it('leaves stream_options alone for providers configured without stream usage', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'plain/echo', messages: hello, stream: true });
    const id = res.headers.get('x-request-id')!;
    await res.text();
    const [seen] = await upstreamSaw(id);
    expect(seen!.body.stream_options).toBeUndefined();
    // No usage from the provider: the gateway counts the stream (test/stream-accounting.test.ts).
    expect(await logRow(id)).toMatchObject({ status: 200, usage_source: 'gateway', stream_cut: 0 });
  });

  it('returns tool calls, streamed and not', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const whole = await client().chat.completions.create({ model: 'gpt-test', messages: hello, tools });
    const call = whole.choices[0]!.message.tool_calls![0]!;
    expect(whole.choices[0]!.finish_reason).toBe('tool_calls');
    expect(call.type === 'function' && call.function.name).toBe('get_weather');

    const stream = await client().chat.completions.create({ model: 'gpt-test', messages: hello, tools, stream: true });
    let name = '';
    let args = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.tool_calls?.[0];
      name += delta?.function?.name ?? '';
      args += delta?.function?.arguments ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toEqual(JSON.parse(call.type === 'function' ? call.function.arguments : '{}'));
    expect(finish).toBe('tool_calls');
  });

  it('forwards response_format and returns JSON content', async () => {
    const res = await client().chat.completions.create({ model: 'gpt-test', messages: hello, response_format: { type: 'json_object' } });
    expect(JSON.parse(res.choices[0]!.message.content!)).toEqual({ echo: 'hello there gateway' });
  });

  it('sends the first event before the upstream has finished', async () => {
    // The fixture waits 150 ms between chunks: a buffering gateway would deliver everything at once.
    const res = await postJson('/v1/chat/completions', { model: 'fixture/fault-slow-stream', messages: hello, stream: true });
    const reader = res.body!.getReader();
    const started = Date.now();
    const first = await reader.read();
    const firstAt = Date.now() - started;
    let rest = '';
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += decoder.decode(value);
    }
    const totalAt = Date.now() - started;
    expect(new TextDecoder().decode(first.value)).toContain('chat.completion.chunk');
    expect(rest).toContain('[DONE]');
    expect(totalAt - firstAt).toBeGreaterThanOrEqual(300);
  });

  it('reaches any configured provider as provider/model, splitting on the first slash only', async () => {
    const { data, response } = await client()
      .chat.completions.create({ model: 'hf/meta-llama/Llama-3.1-8B-Instruct', messages: hello })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: hello there gateway');
    expect(response.headers.get('x-gateway-model')).toBe('meta-llama/Llama-3.1-8B-Instruct');
    const [seen] = await upstreamSaw(response.headers.get('x-request-id')!);
    expect(seen!.path).toBe('/hf/v1/chat/completions');
    expect(seen!.body.model).toBe('meta-llama/Llama-3.1-8B-Instruct');
    expect(seen!.headers.authorization).toBe(`Bearer ${PROVIDER_SECRETS.HF_TOKEN}`);
  });

  it('answers GET /healthz without auth or secrets', async () => {
    const res = await gateway('/healthz');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"status":"ok"}');
  });
});
