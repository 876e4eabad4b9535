import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { type ErrorBody, seenBy, time, weather } from './support/gemini';
import { GEMINI_API_KEY, GEMINI_PRICES } from './support/gemini-config';
import { KEYS } from './support/constants';
import { client, gateway, logRow, postJson, sseData, upstreamSaw } from './support/gateway';
import { limitedKey } from './support/test-config';

/**
 * The `gemini` provider (src/providers/gemini/) through the real openai client,
 * against the Gemini fixture (test/fixtures/native/gemini.ts): the native request
 * Gemini received, and the OpenAI-shaped answer the client got. Failures:
 * provider-gemini-errors.test.ts.
 */

function decodeFloats(text: string): number[] {
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return Array.from(new Float32Array(bytes.buffer));
}

/** The signature the fixture's thinking model puts on a turn's first function call (gemini-check.ts). */
const signature = (name: string) => btoa(`fixture-thought:${name}`);

describe('gemini: chat', () => {
  it('translates a chat to generateContent and back, key in the header only, usage and cost logged', async () => {
    const { data, response } = await client()
      .chat.completions.create({ model: 'gemini-chat', messages: [{ role: 'user', content: 'hello there gemini' }] })
      .withResponse();
    const id = response.headers.get('x-request-id')!;
    expect(data).toMatchObject({
      id: `chatcmpl-${id}`,
      object: 'chat.completion',
      model: 'gemini-2.5-flash',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Gemini heard: hello there gemini' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
    });
    expect(response.headers.get('x-gateway-provider')).toBe('gemini');

    const seen = await seenBy(id);
    expect(seen.path).toBe('/gemini/v1beta/models/gemini-2.5-flash:generateContent');
    expect(seen.query).toEqual({});
    expect(seen.headers['x-goog-api-key']).toBe(GEMINI_API_KEY);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'hello there gemini' }] }] });

    const row = await logRow(id);
    expect(row).toMatchObject({ provider: 'gemini', upstream_model: 'gemini-2.5-flash', status: 200, prompt_tokens: 3, completion_tokens: 5 });
    const price = GEMINI_PRICES['gemini/gemini-2.5-flash'];
    expect(row.cost_usd).toBeCloseTo((3 * price.input_per_mtok + 5 * price.output_per_mtok) / 1e6, 12);
  });

  it('streams with streamGenerateContent?alt=sse, reassembling the same answer, usage last, key still only in the header', async () => {
    const messages = [{ role: 'user' as const, content: 'hello there gemini' }];
    const whole = await client().chat.completions.create({ model: 'gemini-chat', messages });
    const { data: stream, response } = await client()
      .chat.completions.create({ model: 'gemini-chat', messages, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let text = '';
    let finish: string | null = null;
    let usage: unknown = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(whole.choices[0]!.message.content);
    expect(finish).toBe('stop');
    expect(usage).toEqual(whole.usage);
    expect(chunks).toBeGreaterThan(3);

    const id = response.headers.get('x-request-id')!;
    const seen = await seenBy(id);
    expect(seen.path).toBe('/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    expect(seen.query).toEqual({ alt: 'sse' });
    expect(seen.headers['x-goog-api-key']).toBe(GEMINI_API_KEY);
    expect(await logRow(id)).toMatchObject({ stream: 1, status: 200, stream_cut: 0, prompt_tokens: 3, completion_tokens: 5 });
  });

  it('ends the stream with [DONE] after the finish and leaves out the usage chunk the client did not ask for', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'gemini-chat', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const events = await sseData(res);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: { delta: { role?: string }; finish_reason: string | null }[] });
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
    expect(await logRow(res.headers.get('x-request-id')!)).toMatchObject({ prompt_tokens: 1, completion_tokens: 3 });
  });

  it('sends system and developer messages as systemInstruction and merges consecutive user turns', async () => {
    const { data, response } = await client()
      .chat.completions.create({
        model: 'gemini/gemini-2.5-flash',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'developer', content: [{ type: 'text', text: 'answer in English' }] },
          { role: 'user', content: 'first' },
          { role: 'user', content: [{ type: 'text', text: 'second' }] },
        ],
      })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('Gemini heard: first second (system: be brief answer in English)');
    const seen = await seenBy(response.headers.get('x-request-id')!);
    expect(seen.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'first' }, { text: 'second' }] }],
      systemInstruction: { parts: [{ text: 'be brief' }, { text: 'answer in English' }] },
    });
  });

  it('maps sampling, limits, stop, seed, n and a JSON schema onto generationConfig, one choice per candidate', async () => {
    const schema = { type: 'object', properties: { heard: { type: 'string' } }, required: ['heard'] };
    const { data, response } = await client()
      .chat.completions.create({
        model: 'gemini/gemini-2.5-flash',
        messages: [{ role: 'user', content: 'json please' }],
        temperature: 0.2,
        top_p: 0.9,
        max_completion_tokens: 50,
        stop: 'zzz',
        seed: 7,
        n: 2,
        presence_penalty: 0.5,
        frequency_penalty: 0.25,
        response_format: { type: 'json_schema', json_schema: { name: 'heard', schema } },
      })
      .withResponse();
    const seen = await seenBy(response.headers.get('x-request-id')!);
    expect(seen.body.generationConfig).toEqual({
      temperature: 0.2, topP: 0.9, maxOutputTokens: 50, seed: 7, presencePenalty: 0.5, frequencyPenalty: 0.25,
      stopSequences: ['zzz'], candidateCount: 2, responseMimeType: 'application/json', responseJsonSchema: schema,
    });
    expect(data.choices.map((c) => [c.index, JSON.parse(c.message.content!), c.finish_reason])).toEqual([
      [0, { heard: 'json please' }, 'stop'],
      [1, { heard: 'json please', candidate: 2 }, 'stop'],
    ]);
  });

  it('sends the provider\'s safety_settings as safetySettings', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'gemini-safe/gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(200);
    const seen = await seenBy(res.headers.get('x-request-id')!);
    expect(seen.body.safetySettings).toEqual([{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_ONLY_HIGH' }]);
  });

  it('sends data-URL images inline and http(s) images as fileData with their type', async () => {
    const { data, response } = await client()
      .chat.completions.create({
        model: 'gemini/gemini-2.5-flash',
        messages: [{
          role: 'user',
          content: [
            { type: 'text', text: 'what is this' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.JPG?size=large' } },
            { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
            { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'a.pdf' } },
          ],
        }],
      })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe(
      'Gemini heard: what is this [inline image/png; file image/jpeg https://example.com/cat.JPG?size=large; inline audio/wav; inline application/pdf]',
    );
    expect(data.usage!.prompt_tokens).toBe(3 + 4 * 258);
    const seen = await seenBy(response.headers.get('x-request-id')!);
    expect(seen.body.contents).toEqual([{
      role: 'user',
      parts: [
        { text: 'what is this' },
        { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
        { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/cat.JPG?size=large' } },
        { inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } },
        { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
      ],
    }]);
  });

  it('asks for thought summaries when the provider says so and answers them as reasoning_content, streamed and not', async () => {
    const messages = [{ role: 'user' as const, content: 'think twice' }];
    const { data, response } = await client().chat.completions.create({ model: 'gemini-thoughts/gemini-3-pro-preview', messages }).withResponse();
    const message = data.choices[0]!.message as typeof data.choices[0]['message'] & { reasoning_content?: string };
    expect([message.content, message.reasoning_content]).toEqual(['Gemini heard: think twice', 'Thinking about think twice']);
    expect(data.usage).toMatchObject({ completion_tokens: 4 + 9, completion_tokens_details: { reasoning_tokens: 9 } });
    const seen = await seenBy(response.headers.get('x-request-id')!);
    expect(seen.body.generationConfig).toEqual({ thinkingConfig: { includeThoughts: true } });

    let text = '';
    let reasoning = '';
    for await (const chunk of await client().chat.completions.create({ model: 'gemini-thoughts/gemini-3-pro-preview', messages, stream: true })) {
      const delta = (chunk.choices[0]?.delta ?? {}) as { content?: string | null; reasoning_content?: string };
      text += delta.content ?? '';
      reasoning += delta.reasoning_content ?? '';
    }
    expect([text, reasoning]).toEqual(['Gemini heard: think twice', 'Thinking about think twice']);
  });
});

describe('gemini: other ingress formats', () => {
  it('serves the Anthropic Messages and Responses APIs from Gemini too', async () => {
    const messages = await gateway('/v1/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': KEYS.teamA },
      body: JSON.stringify({
        model: 'gemini-chat', max_tokens: 50, system: 'be brief', messages: [{ role: 'user', content: 'hello' }],
        tools: [{ name: 'get_time', input_schema: time.function.parameters }], tool_choice: { type: 'tool', name: 'get_time' },
      }),
    });
    expect(await messages.json()).toMatchObject({ type: 'message', content: [{ type: 'tool_use', id: 'call_0', name: 'get_time', input: { zone: 'hello' } }], stop_reason: 'tool_use' });
    expect((await seenBy(messages.headers.get('x-request-id')!)).body).toMatchObject({
      systemInstruction: { parts: [{ text: 'be brief' }] },
      toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_time'] } },
      generationConfig: { maxOutputTokens: 50 },
    });

    const response = await postJson('/v1/responses', { model: 'gemini-chat', input: 'hello', instructions: 'be brief' });
    expect(await response.json()).toMatchObject({ status: 'completed', output: [{ type: 'message', content: [{ type: 'output_text', text: 'Gemini heard: hello (system: be brief)' }] }] });
  });
});

describe('gemini: tools', () => {
  it('declares tools with their JSON schema, forces a named tool, and answers its call', async () => {
    const { data, response } = await client()
      .chat.completions.create({
        model: 'gemini/gemini-2.5-flash',
        messages: [{ role: 'user', content: 'Paris' }],
        tools: [weather, time],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
      })
      .withResponse();
    expect(data.choices[0]).toMatchObject({
      message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","days":42}' } }] },
      finish_reason: 'tool_calls',
    });
    const seen = await seenBy(response.headers.get('x-request-id')!);
    expect(seen.body.tools).toEqual([{
      functionDeclarations: [
        { name: 'get_weather', description: 'Weather by city', parametersJsonSchema: weather.function.parameters },
        { name: 'get_time', parametersJsonSchema: time.function.parameters },
      ],
    }]);
    expect(seen.body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } });
  });

  it('maps tool_choice auto, none, required and allowed_tools (required)', async () => {
    const allowed = { type: 'allowed_tools', allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'get_time' } }] } };
    const modes: [unknown, object, string][] = [
      ['auto', { mode: 'AUTO' }, 'get_weather'],
      ['none', { mode: 'NONE' }, ''],
      ['required', { mode: 'ANY' }, 'get_weather'],
      [allowed, { mode: 'ANY', allowedFunctionNames: ['get_time'] }, 'get_time'],
    ];
    for (const [choice, config, called] of modes) {
      const res = await postJson('/v1/chat/completions', { model: 'gemini/gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }], tools: [weather, time], tool_choice: choice });
      const seen = await seenBy(res.headers.get('x-request-id')!);
      expect(seen.body.toolConfig).toEqual({ functionCallingConfig: config });
      const answer = (await res.json()) as { choices: { message: { tool_calls?: { function: { name: string } }[] }; finish_reason: string }[] };
      expect(answer.choices[0]!.message.tool_calls?.[0]?.function.name ?? '').toBe(called);
      expect(answer.choices[0]!.finish_reason).toBe(called ? 'tool_calls' : 'stop');
    }
  });

  it('streams parallel tool calls, each opened with its id and name and carrying its exact arguments', async () => {
    const stream = await client().chat.completions.create({
      model: 'gemini/gemini-2.5-flash',
      messages: [{ role: 'user', content: 'every tool for Paris' }],
      tools: [weather, time],
      stream: true,
      stream_options: { include_usage: true },
    });
    const calls: { id?: string; name?: string; arguments: string }[] = [];
    let finish: string | null = null;
    let usage: unknown = null;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        const call = (calls[delta.index] ??= { arguments: '' });
        if (delta.id) call.id = delta.id;
        if (delta.function?.name) call.name = delta.function.name;
        call.arguments += delta.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(calls).toEqual([
      { id: 'call_0', name: 'get_weather', arguments: '{"city":"every tool for Paris","days":42}' },
      { id: 'call_1', name: 'get_time', arguments: '{"zone":"every tool for Paris"}' },
    ]);
    expect(finish).toBe('tool_calls');
    expect(usage).toEqual({ prompt_tokens: 4, completion_tokens: 10, total_tokens: 14 });
  });

  it('sends tool results back as functionResponse parts named after the calls they answer, in one turn', async () => {
    const { data, response } = await client()
      .chat.completions.create({
        model: 'gemini/gemini-2.5-flash',
        tools: [weather, time],
        messages: [
          { role: 'user', content: 'weather and time in Paris' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{"zone":"CET"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'noon' },
          { role: 'tool', tool_call_id: 'call_0', content: [{ type: 'text', text: '{"temp":21}' }] },
        ],
      })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('Gemini got get_time: {"output":"noon"}; Gemini got get_weather: {"temp":21}');
    const seen = await seenBy(response.headers.get('x-request-id')!);
    expect(seen.body.contents).toEqual([
      { role: 'user', parts: [{ text: 'weather and time in Paris' }] },
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }, { functionCall: { name: 'get_time', args: { zone: 'CET' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_time', response: { output: 'noon' } } }, { functionResponse: { name: 'get_weather', response: { temp: 21 } } }] },
    ]);
  });

  it('carries a thinking model\'s thought signature in the tool call id and back, which Gemini requires', async () => {
    const ask = [{ role: 'user' as const, content: 'what is the weather in Paris today' }];
    const first = await client().chat.completions.create({ model: 'gemini/gemini-3-pro-preview', messages: ask, tools: [weather] }).withResponse();
    const call = first.data.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.id).toBe(`call_0~sig~${signature('get_weather')}`);
    // Thoughts are output tokens Gemini counts apart; cached prompt tokens are cheaper.
    expect(first.data.usage).toEqual({
      prompt_tokens: 7, completion_tokens: 14, total_tokens: 21,
      prompt_tokens_details: { cached_tokens: 3 }, completion_tokens_details: { reasoning_tokens: 9 },
    });
    const price = GEMINI_PRICES['gemini/gemini-3-pro-preview'];
    const row = await logRow(first.response.headers.get('x-request-id')!);
    expect(row.cost_usd).toBeCloseTo((4 * price.input_per_mtok + 3 * price.cached_input_per_mtok + 14 * price.output_per_mtok) / 1e6, 12);

    const followUp = (id: string) => [...ask, { role: 'assistant' as const, content: null, tool_calls: [{ ...call, id }] }, { role: 'tool' as const, tool_call_id: id, content: 'sunny' }];
    const second = await client().chat.completions.create({ model: 'gemini/gemini-3-pro-preview', messages: followUp(call.id), tools: [weather] }).withResponse();
    expect(second.data.choices[0]!.message.content).toBe('Gemini got get_weather: {"output":"sunny"}');
    const seen = await seenBy(second.response.headers.get('x-request-id')!);
    expect((seen.body.contents as unknown[])[1]).toEqual({
      role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'what is the weather in Paris today', days: 42 } }, thoughtSignature: signature('get_weather') }],
    });

    // A client that rewrote the id lost the signature: Gemini's refusal reaches it as a 400.
    const res = await postJson('/v1/chat/completions', { model: 'gemini/gemini-3-pro-preview', messages: followUp('call_0'), tools: [weather] });
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('upstream_rejected');
    expect(body.error.message).toContain('INVALID_ARGUMENT');
    expect(body.error.message).toContain('thought_signature');
  });
});

describe('gemini: finish reasons', () => {
  it('maps MAX_TOKENS to length, streamed and not, and stop sequences to stop', async () => {
    const messages = [{ role: 'user' as const, content: 'one two three four' }];
    const cut = await client().chat.completions.create({ model: 'gemini/gemini-2.5-flash', messages, max_tokens: 2 });
    expect(cut.choices[0]).toMatchObject({ message: { content: 'Gemini heard:' }, finish_reason: 'length' });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of await client().chat.completions.create({ model: 'gemini/gemini-2.5-flash', messages, max_tokens: 2, stream: true })) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect([text, finish]).toEqual(['Gemini heard:', 'length']);
    const stopped = await client().chat.completions.create({ model: 'gemini/gemini-2.5-flash', messages, stop: ['three'] });
    expect(stopped.choices[0]).toMatchObject({ message: { content: 'Gemini heard: one two ' }, finish_reason: 'stop' });
  });

  it('maps a SAFETY stop to content_filter, keeping the text before it', async () => {
    const whole = await client().chat.completions.create({ model: 'gemini/unsafe-reply', messages: [{ role: 'user', content: 'how to' }] });
    expect(whole.choices[0]).toMatchObject({ message: { content: 'Here is how one would' }, finish_reason: 'content_filter' });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of await client().chat.completions.create({ model: 'gemini/unsafe-reply', messages: [{ role: 'user', content: 'how to' }], stream: true })) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect([text, finish]).toEqual(['Here is how one would', 'content_filter']);
  });

  it('answers a blocked prompt with no content and finish_reason content_filter, streamed and not', async () => {
    const messages = [{ role: 'user' as const, content: 'something blocked' }];
    const whole = await client().chat.completions.create({ model: 'gemini/blocked-prompt', messages });
    expect(whole.choices).toEqual([{ index: 0, message: { role: 'assistant', content: null, refusal: null }, logprobs: null, finish_reason: 'content_filter' }]);
    expect(whole.usage).toEqual({ prompt_tokens: 2, completion_tokens: 0, total_tokens: 2 });
    const res = await postJson('/v1/chat/completions', { model: 'gemini/blocked-prompt', messages, stream: true, stream_options: { include_usage: true } });
    const events = await sseData(res);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: { delta: unknown; finish_reason: string | null }[]; usage?: unknown });
    expect(chunks.map((c) => c.choices[0]?.finish_reason ?? null)).toEqual(['content_filter', null]);
    expect(chunks[1]!.usage).toEqual({ prompt_tokens: 2, completion_tokens: 0, total_tokens: 2 });
  });
});

describe('gemini: embeddings', () => {
  it('embeds one input with embedContent, serving the openai client its base64 default', async () => {
    const floats = (await (await postJson('/v1/embeddings', { model: 'gemini-embed', input: 'hello world', encoding_format: 'float' })).json()) as { data: { embedding: number[] }[] };
    const { data, response } = await client().embeddings.create({ model: 'gemini-embed', input: 'hello world' }).withResponse();
    expect(data.data[0]!.embedding).toEqual(floats.data[0]!.embedding);
    expect(data.data[0]!.embedding).toHaveLength(6);
    expect(data.model).toBe('gemini-embedding-001');
    const seen = await seenBy(response.headers.get('x-request-id')!);
    expect(seen.path).toBe('/gemini/v1beta/models/gemini-embedding-001:embedContent');
    expect(seen.query).toEqual({});
    expect(seen.headers['x-goog-api-key']).toBe(GEMINI_API_KEY);
    expect(seen.body).toEqual({ content: { parts: [{ text: 'hello world' }] } });
  });

  it('embeds several inputs with batchEmbedContents, in order, with dimensions as outputDimensionality', async () => {
    const res = await postJson('/v1/embeddings', { model: 'gemini-embed', input: ['a', 'b', 'c'], dimensions: 3, encoding_format: 'base64' });
    expect(res.status).toBe(200);
    const list = (await res.json()) as { object: string; data: { index: number; embedding: string }[] };
    expect(list.object).toBe('list');
    const vectors = list.data.map((d) => decodeFloats(d.embedding));
    expect(list.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(vectors.map((v) => v.length)).toEqual([3, 3, 3]);
    expect(new Set(vectors.map((v) => v.join())).size).toBe(3);
    const seen = await seenBy(res.headers.get('x-request-id')!);
    expect(seen.path).toBe('/gemini/v1beta/models/gemini-embedding-001:batchEmbedContents');
    expect(seen.body).toEqual({
      requests: ['a', 'b', 'c'].map((text) => ({ model: 'models/gemini-embedding-001', content: { parts: [{ text }] }, outputDimensionality: 3 })),
    });
    // The same text embeds the same alone and in a batch.
    const alone = await client().embeddings.create({ model: 'gemini-embed', input: 'b', dimensions: 3 });
    expect(alone.data[0]!.embedding).toEqual(vectors[1]);
  });

  it('counts an embedding at the gateway estimate, as Gemini reports no usage: a token limit holds', async () => {
    const key = limitedKey('embed-tpm');
    const admitted: string[] = [];
    let refused = 0;
    for (let i = 0; i < 20 && refused === 0; i++) {
      const res = await postJson('/v1/embeddings', { model: 'gemini-embed', input: 'hello world', encoding_format: 'float' }, key);
      if (res.status === 429) refused++;
      else if (res.status === 200) admitted.push(res.headers.get('x-request-id')!);
    }
    expect(refused).toBe(1);
    expect(admitted.length).toBeGreaterThan(0);
    const rows = await Promise.all(admitted.map((id) => logRow(id)));
    for (const row of rows) expect(row).toMatchObject({ usage_source: 'gateway', completion_tokens: 0 });
    const counted = rows.reduce((sum, row) => sum + (row.prompt_tokens as number), 0);
    expect(counted).toBeGreaterThan(0);
    expect(counted).toBeLessThanOrEqual(40);
  });

  it('refuses token-array input with a 400 before calling Gemini', async () => {
    const res = await postJson('/v1/embeddings', { model: 'gemini-embed', input: [1, 2, 3] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.param).toBe('input');
    expect(await upstreamSaw(res.headers.get('x-request-id')!)).toEqual([]);
  });
});
