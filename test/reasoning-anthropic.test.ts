import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { expectError } from './support/errors';
import { client, logRow, postJson, upstreamSaw, type RecordedRequest } from './support/gateway';

/**
 * `reasoning_effort` on the Anthropic provider (src/providers/anthropic/thinking.ts),
 * through the openai client against the Anthropic fixture, which checks thinking as
 * Anthropic does (test/fixtures/native/anthropic-validate.ts): budget thinking on
 * budget models (here `claude-sonnet-4-5`, `claude-fx`), adaptive thinking with an
 * effort on `claude-opus-4-7`, the sampling settings thinking forbids, and the signed
 * thinking a tool-use loop must send back.
 */

type Message = OpenAI.ChatCompletionMessage & { reasoning_content?: string };
type Effort = OpenAI.ChatCompletionCreateParams['reasoning_effort'];

const ask = [{ role: 'user' as const, content: 'think about this' }];
const weather = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };
/** Anthropic's documented test string: Claude answers it with a redacted_thinking block too. */
const REDACTED_TRIGGER = 'ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB';

async function nativeBody(id: string): Promise<Record<string, unknown>> {
  const seen = await upstreamSaw(id);
  expect(seen).toHaveLength(1);
  return (seen[0] as RecordedRequest).body as Record<string, unknown>;
}

async function chat(body: Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, 'messages'> & { messages?: OpenAI.ChatCompletionMessageParam[] }) {
  const { data, response } = await client().chat.completions.create({ messages: ask, ...body }).withResponse();
  return { data, message: data.choices[0]!.message as Message, native: await nativeBody(response.headers.get('x-request-id')!), id: response.headers.get('x-request-id')! };
}

/** What a streaming client reassembles: content and reasoning apart, tool call ids, usage. */
async function streamed(body: Omit<OpenAI.ChatCompletionCreateParamsStreaming, 'messages' | 'stream'> & { messages?: OpenAI.ChatCompletionMessageParam[] }) {
  const out = { content: '', reasoning: '', ids: [] as string[], usage: null as unknown, finish: null as string | null };
  const stream = await client().chat.completions.create({ messages: ask, ...body, stream: true, stream_options: { include_usage: true } });
  for await (const chunk of stream) {
    if (chunk.usage) out.usage = chunk.usage;
    const choice = chunk.choices[0];
    const delta = (choice?.delta ?? {}) as OpenAI.ChatCompletionChunk.Choice.Delta & { reasoning_content?: string };
    out.content += delta.content ?? '';
    out.reasoning += delta.reasoning_content ?? '';
    for (const call of delta.tool_calls ?? []) out.ids[call.index] = (out.ids[call.index] ?? '') + (call.id ?? '');
    out.finish = choice?.finish_reason ?? out.finish;
  }
  return out;
}

describe('anthropic: reasoning_effort as budget thinking', () => {
  it('asks a budget model to think with the effort\'s budget on top of the default max_tokens, and answers the thinking as reasoning_content, streamed and not', async () => {
    const { data, message, native } = await chat({ model: 'anthropic/claude-sonnet-4-5', reasoning_effort: 'medium' });
    expect(native).toEqual({
      model: 'claude-sonnet-4-5', max_tokens: 4096 + 8192, messages: [{ role: 'user', content: 'think about this' }],
      thinking: { type: 'enabled', budget_tokens: 8192 },
    });
    expect(message).toEqual({ role: 'assistant', content: 'echo: think about this', refusal: null, reasoning_content: 'Thinking about think about this (budget 8192)' });
    // Anthropic counts thinking in output_tokens and reports no count of its own for it: no reasoning_tokens is made up.
    const usage = { prompt_tokens: 4, completion_tokens: 7 + 4, total_tokens: 15, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 } };
    expect(data.usage).toEqual(usage);

    const stream = await streamed({ model: 'anthropic/claude-sonnet-4-5', reasoning_effort: 'medium' });
    expect(stream).toEqual({ content: 'echo: think about this', reasoning: 'Thinking about think about this (budget 8192)', ids: [], usage, finish: 'stop' });
  });

  it.each<[Effort, Record<string, unknown> | undefined, number]>([
    ['minimal', { type: 'enabled', budget_tokens: 1024 }, 4096 + 1024],
    ['low', { type: 'enabled', budget_tokens: 1024 }, 4096 + 1024],
    ['high', { type: 'enabled', budget_tokens: 24576 }, 4096 + 24576],
    ['xhigh', { type: 'enabled', budget_tokens: 24576 }, 4096 + 24576],
    ['none', undefined, 4096],
    [null, undefined, 4096],
  ])('reasoning_effort %s: thinking %o, max_tokens %i', async (effort, thinking, maxTokens) => {
    const { native, message } = await chat({ model: 'anthropic/claude-fx', reasoning_effort: effort });
    expect(native.thinking).toEqual(thinking);
    expect(native.max_tokens).toBe(maxTokens);
    expect(message.reasoning_content !== undefined).toBe(thinking !== undefined);
  });

  it('keeps a caller\'s cap, which bounds thinking and answer together, and shrinks the budget below it', async () => {
    const capped = await chat({ model: 'anthropic/claude-fx', reasoning_effort: 'high', max_completion_tokens: 3000 });
    expect(capped.native).toMatchObject({ max_tokens: 3000, thinking: { type: 'enabled', budget_tokens: 2999 } });
    const roomy = await chat({ model: 'anthropic/claude-fx', reasoning_effort: 'low', max_tokens: 50_000 });
    expect(roomy.native).toMatchObject({ max_tokens: 50_000, thinking: { type: 'enabled', budget_tokens: 1024 } });
  });

  it('counts thinking against the cap, as Anthropic does: the answer gets what thinking leaves', async () => {
    const said = Array(600).fill('w').join(' ');
    const { message, data, native } = await chat({ model: 'anthropic/claude-fx', reasoning_effort: 'low', max_tokens: 1030, messages: [{ role: 'user', content: said }] });
    expect(native).toMatchObject({ max_tokens: 1030, thinking: { type: 'enabled', budget_tokens: 1024 } });
    // 604 words of thinking, 426 of the answer: the cap holds both.
    expect(message.reasoning_content!.split(' ')).toHaveLength(604);
    expect(message.content!.trim().split(' ')).toHaveLength(1030 - 604);
    expect(data.choices[0]!.finish_reason).toBe('length');
    expect(data.usage!.completion_tokens).toBe(1030);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a cap no budget fits below (max_completion_tokens)', { max_completion_tokens: 1024 }, 'max_completion_tokens'],
    ['a cap no budget fits below (max_tokens)', { max_tokens: 500 }, 'max_tokens'],
    ['a temperature other than 1', { temperature: 0.2 }, 'temperature'],
    ['a top_p below 0.95', { top_p: 0.5 }, 'top_p'],
    ['top_k', { top_k: 5 }, 'top_k'],
    ['forced tool use', { tools: [weather], tool_choice: 'required' }, 'tool_choice'],
    ['a named tool', { tools: [weather], tool_choice: { type: 'function', function: { name: 'get_weather' } } }, 'tool_choice'],
    ['an unknown effort', { reasoning_effort: 'extreme' }, 'reasoning_effort'],
  ])('refuses %s while thinking with a 400 naming the field, before any upstream call', async (_, body, param) => {
    const res = await postJson('/v1/chat/completions', { model: 'anthropic/claude-fx', messages: ask, reasoning_effort: 'low', ...body });
    const { id, error } = await expectError(res, { status: 400, code: 'invalid_request', param, keyId: 'team-a' });
    expect(error.message).toContain(param === 'reasoning_effort' ? '"minimal"' : 'reasoning_effort');
    expect(await upstreamSaw(id)).toEqual([]);
  });

  it('sends what thinking allows: temperature 1, top_p 0.95, tool_choice auto; and without reasoning_effort no limits apply', async () => {
    const allowed = await chat({ model: 'anthropic/claude-fx', reasoning_effort: 'low', temperature: 1, top_p: 0.95 });
    expect(allowed.native).toMatchObject({ temperature: 1, top_p: 0.95, thinking: { type: 'enabled', budget_tokens: 1024 } });
    const plain = await chat({ model: 'anthropic/claude-fx', temperature: 0.2, reasoning_effort: 'none' });
    expect(plain.native).toEqual({ model: 'claude-fx', max_tokens: 4096, messages: ask, temperature: 0.2 });
  });

  it('takes the provider\'s thinking mode and budgets over the model id', async () => {
    const { native } = await chat({ model: 'anthropic-budget/claude-fx', reasoning_effort: 'medium' });
    expect(native).toMatchObject({ max_tokens: 4096 + 2000, thinking: { type: 'enabled', budget_tokens: 2000 } });
    // A budget sent to a model of the adaptive generation: Anthropic's refusal reaches the caller.
    const res = await postJson('/v1/chat/completions', { model: 'anthropic-budget/claude-opus-4-7', messages: ask, reasoning_effort: 'low' });
    const { error } = await expectError(res, { status: 400, code: 'upstream_rejected', keyId: 'team-a' });
    expect(error.message).toContain('"thinking.type.enabled" is not supported for this model');
  });
});

describe('anthropic: reasoning_effort as adaptive thinking', () => {
  it.each<[Effort, Record<string, unknown>, number]>([
    ['medium', { thinking: { type: 'adaptive' }, output_config: { effort: 'medium' } }, 4096 + 8192],
    ['minimal', { thinking: { type: 'adaptive' }, output_config: { effort: 'low' } }, 4096 + 1024],
    ['max', { thinking: { type: 'adaptive' }, output_config: { effort: 'max' } }, 4096 + 24576],
    ['none', { thinking: { type: 'disabled' } }, 4096],
  ])('reasoning_effort %s on claude-opus-4-7: %o', async (effort, fields, maxTokens) => {
    const { native, message } = await chat({ model: 'anthropic/claude-opus-4-7', reasoning_effort: effort });
    expect(native).toEqual({ model: 'claude-opus-4-7', max_tokens: maxTokens, messages: ask, ...fields });
    const level = (fields.output_config as { effort?: string } | undefined)?.effort;
    expect(message.reasoning_content).toBe(level ? `Thinking about think about this (effort ${level})` : undefined);
  });

  it('allows forced tool use while thinking adaptively, but no temperature', async () => {
    const { native, message } = await chat({ model: 'anthropic/claude-opus-4-7', reasoning_effort: 'low', tools: [weather], tool_choice: 'required' });
    expect(native).toMatchObject({ tool_choice: { type: 'any' }, thinking: { type: 'adaptive' } });
    expect(message.tool_calls).toHaveLength(1);
    const res = await postJson('/v1/chat/completions', { model: 'anthropic/claude-opus-4-7', messages: ask, reasoning_effort: 'low', temperature: 0 });
    await expectError(res, { status: 400, code: 'invalid_request', param: 'temperature', keyId: 'team-a' });
  });
});

describe('anthropic: thinking in a tool-use loop', () => {
  const question = [{ role: 'user' as const, content: 'what is the weather in Paris' }];
  const thought = 'Thinking about what is the weather in Paris (budget 1024)';
  const firstCall = (messages = question) => chat({ model: 'anthropic/claude-fx', reasoning_effort: 'low', tools: [weather], messages });

  it('carries the signed thinking on the first tool call id, streamed and not, and puts it back in front of the turn, which Anthropic requires', async () => {
    const first = await firstCall();
    const call = first.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.id).toMatch(/^toolu_fx_1~think~[A-Za-z0-9_-]+$/);
    expect(first.message).toMatchObject({ content: 'Calling get_weather.', reasoning_content: thought });
    const stream = await streamed({ model: 'anthropic/claude-fx', reasoning_effort: 'low', tools: [weather], messages: question });
    expect(stream).toMatchObject({ ids: [call.id], reasoning: thought, content: 'Calling get_weather.', finish: 'tool_calls' });

    // The client sends the assistant message back as it got it, and the tool's result.
    const second = await chat({
      model: 'anthropic/claude-fx', reasoning_effort: 'low', tools: [weather],
      messages: [...question, first.message, { role: 'tool', tool_call_id: call.id, content: 'sunny' }],
    });
    expect(second.message.content).toBe('echo: tool said: sunny');
    expect((second.native.messages as unknown[]).slice(1)).toEqual([
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: thought, signature: expect.stringMatching(/^EqFixture/) },
          { type: 'text', text: 'Calling get_weather.' },
          { type: 'tool_use', id: 'toolu_fx_1', name: 'get_weather', input: { echo: 'what is the weather in Paris', n: 0 } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_fx_1', content: 'sunny' }] },
    ]);
    expect(await logRow(second.id)).toMatchObject({ status: 200, provider: 'anthropic' });
  });

  it('carries redacted thinking too, in order, and sends it back untouched', async () => {
    const first = await firstCall([{ role: 'user', content: `what is the weather in Paris ${REDACTED_TRIGGER}` }]);
    const call = first.message.tool_calls![0]!;
    // Redacted thinking has no text to show: reasoning_content is the readable thinking only.
    expect(first.message.reasoning_content).toBe(thought);
    const second = await chat({
      model: 'anthropic/claude-fx', reasoning_effort: 'low', tools: [weather],
      messages: [{ role: 'user', content: `what is the weather in Paris ${REDACTED_TRIGGER}` }, first.message, { role: 'tool', tool_call_id: call.id, content: 'sunny' }],
    });
    const turn = (second.native.messages as { content: { type: string; data?: string }[] }[])[1]!;
    expect(turn.content.map((block) => block.type)).toEqual(['thinking', 'redacted_thinking', 'text', 'tool_use']);
    expect(turn.content[1]!.data).toMatch(/^EmFixtureRedacted/);
  });

  it('leaves the thinking out when the next call does not think, and refuses a damaged id before any upstream call', async () => {
    const first = await firstCall();
    const call = first.message.tool_calls![0]!;
    const loop = (id: string, effort?: Effort) =>
      postJson('/v1/chat/completions', {
        model: 'anthropic/claude-fx', tools: [weather], ...(effort ? { reasoning_effort: effort } : {}),
        messages: [...question, { ...first.message, tool_calls: [{ ...call, id }] }, { role: 'tool', tool_call_id: id, content: 'sunny' }],
      });

    const unthinking = await loop(call.id);
    expect(unthinking.status).toBe(200);
    const sent = await nativeBody(unthinking.headers.get('x-request-id')!);
    expect(sent.thinking).toBeUndefined();
    expect((sent.messages as { content: { type: string }[] }[])[1]!.content.map((b) => b.type)).toEqual(['text', 'tool_use']);

    // A client that rewrote the id lost the thinking: Anthropic's refusal reaches it as a 400.
    const { error } = await expectError(await loop('toolu_fx_1', 'low'), { status: 400, code: 'upstream_rejected', keyId: 'team-a' });
    expect(error.message).toContain('a final `assistant` message must start with a thinking block');

    const damaged = await expectError(await loop('toolu_fx_1~think~bm90IGpzb24', 'low'), { status: 400, code: 'invalid_request', param: 'messages[1].tool_calls[0].id', keyId: 'team-a' });
    expect(await upstreamSaw(damaged.id)).toEqual([]);
  });
});

describe('anthropic: reasoning through the Responses API', () => {
  it('maps reasoning.effort onto thinking the same way', async () => {
    const res = await postJson('/v1/responses', { model: 'anthropic/claude-sonnet-4-5', input: 'think about this', reasoning: { effort: 'high' } });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(await nativeBody(res.headers.get('x-request-id')!)).toMatchObject({ max_tokens: 4096 + 24576, thinking: { type: 'enabled', budget_tokens: 24576 } });
    const answer = JSON.parse(text) as { reasoning: unknown; output: { content: { text: string }[] }[] };
    expect(answer.reasoning).toEqual({ effort: 'high', summary: null });
    expect(answer.output.at(-1)!.content[0]!.text).toBe('echo: think about this');
  });
});
