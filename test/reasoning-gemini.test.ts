import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { expectError } from './support/errors';
import { client, logRow, postJson, upstreamSaw } from './support/gateway';
import { GEMINI_PRICES } from './support/gemini-config';
import { seenBy } from './support/gemini';

/**
 * `reasoning_effort` on the Gemini provider (src/providers/gemini/thinking.ts)
 * through the openai client against the Gemini fixture, which takes thinkingConfig
 * as each model does (test/fixtures/native/gemini-check.ts): a `thinkingBudget` for
 * gemini-2.5-flash, `thinkingLevel` low or high for gemini-3-pro-preview, never both,
 * and reports `thoughtsTokenCount` (one per 128 budget tokens; levels low 3, high 9).
 * Also: OpenAI-format providers forward `reasoning_effort` as sent.
 */

type Message = OpenAI.ChatCompletionMessage & { reasoning_content?: string };
type Effort = OpenAI.ChatCompletionCreateParams['reasoning_effort'];

const ask = [{ role: 'user' as const, content: 'think about this' }];
const contents = [{ role: 'user', parts: [{ text: 'think about this' }] }];

async function chat(body: Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, 'messages'> & { messages?: OpenAI.ChatCompletionMessageParam[] }) {
  const { data, response } = await client().chat.completions.create({ messages: ask, ...body }).withResponse();
  const id = response.headers.get('x-request-id')!;
  return { data, id, message: data.choices[0]!.message as Message, native: (await seenBy(id)).body as Record<string, unknown> };
}

describe('gemini: reasoning_effort as a thinking budget (Gemini 2.5)', () => {
  it('sends the effort\'s thinkingBudget and counts the thoughts as completion and reasoning tokens, priced as output, streamed and not', async () => {
    const { data, id, native } = await chat({ model: 'gemini/gemini-2.5-flash', reasoning_effort: 'low' });
    expect(native).toEqual({ contents, generationConfig: { thinkingConfig: { thinkingBudget: 1024 } } });
    expect(data.choices[0]!.message).toEqual({ role: 'assistant', content: 'Gemini heard: think about this', refusal: null });
    const usage = { prompt_tokens: 3, completion_tokens: 5 + 8, total_tokens: 16, completion_tokens_details: { reasoning_tokens: 8 } };
    expect(data.usage).toEqual(usage);
    const price = GEMINI_PRICES['gemini/gemini-2.5-flash'];
    expect((await logRow(id)).cost_usd).toBeCloseTo((3 * price.input_per_mtok + 13 * price.output_per_mtok) / 1e6, 12);

    let text = '';
    let last: unknown;
    for await (const chunk of await client().chat.completions.create({ model: 'gemini/gemini-2.5-flash', messages: ask, reasoning_effort: 'low', stream: true, stream_options: { include_usage: true } })) {
      text += chunk.choices[0]?.delta.content ?? '';
      last = chunk.usage ?? last;
    }
    expect([text, last]).toEqual(['Gemini heard: think about this', usage]);
  });

  it.each<[Effort, number, number | undefined]>([
    ['none', 0, undefined],
    ['minimal', 512, 4],
    ['medium', 8192, 64],
    ['high', 24576, 192],
    ['xhigh', 24576, 192],
  ])('reasoning_effort %s: thinkingBudget %i, reasoning_tokens %s', async (effort, budget, reasoning) => {
    const { data, native } = await chat({ model: 'gemini/gemini-2.5-flash', reasoning_effort: effort });
    expect(native.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: budget } });
    expect(data.usage!.completion_tokens_details?.reasoning_tokens).toBe(reasoning);
    expect(data.usage!.completion_tokens).toBe(5 + (reasoning ?? 0));
  });

  it('sends the caller\'s cap as it is: it bounds thoughts and answer together on Gemini too', async () => {
    const { data, native } = await chat({ model: 'gemini/gemini-2.5-flash', reasoning_effort: 'low', max_tokens: 10 });
    expect(native.generationConfig).toEqual({ maxOutputTokens: 10, thinkingConfig: { thinkingBudget: 1024 } });
    expect(data.choices[0]).toMatchObject({ message: { content: 'Gemini heard:' }, finish_reason: 'length' });
  });

  it('takes the provider\'s thinking control and budgets over the model id', async () => {
    const { native, data } = await chat({ model: 'gemini-budget/gemini-3-pro-preview', reasoning_effort: 'low' });
    expect(native.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 2048 } });
    expect(data.usage!.completion_tokens_details).toEqual({ reasoning_tokens: 16 });
  });
});

describe('gemini: reasoning_effort as a thinking level (Gemini 3)', () => {
  it.each<[Effort, string, number]>([
    ['low', 'low', 3],
    ['high', 'high', 9],
    ['max', 'high', 9],
  ])('reasoning_effort %s: thinkingLevel %s', async (effort, level, reasoning) => {
    const { native, data } = await chat({ model: 'gemini/gemini-3-pro-preview', reasoning_effort: effort });
    expect(native).toEqual({ contents, generationConfig: { thinkingConfig: { thinkingLevel: level } } });
    expect(data.usage).toEqual({
      prompt_tokens: 3, completion_tokens: 5 + reasoning, total_tokens: 8 + reasoning,
      prompt_tokens_details: { cached_tokens: 1 }, completion_tokens_details: { reasoning_tokens: reasoning },
    });
  });

  it.each<[Effort, string]>([
    ['medium', 'MEDIUM'],
    ['none', 'MINIMAL'],
  ])('passes reasoning_effort %s on as its level, and Gemini\'s refusal of a level the model lacks reaches the caller', async (effort, level) => {
    const res = await postJson('/v1/chat/completions', { model: 'gemini/gemini-3-pro-preview', messages: ask, reasoning_effort: effort });
    const { id, error } = await expectError(res, { status: 400, code: 'upstream_rejected', keyId: 'team-a' });
    expect(error.message).toContain(`Thinking level ${level} is not supported for this model`);
    expect(((await seenBy(id)).body.generationConfig as Record<string, unknown>).thinkingConfig).toEqual({ thinkingLevel: level.toLowerCase() });
  });

  it('keeps thought summaries apart from the answer, as reasoning_content, streamed and not', async () => {
    const { message, native } = await chat({ model: 'gemini-thoughts/gemini-3-pro-preview', reasoning_effort: 'low' });
    expect(native.generationConfig).toEqual({ thinkingConfig: { includeThoughts: true, thinkingLevel: 'low' } });
    expect([message.content, message.reasoning_content]).toEqual(['Gemini heard: think about this', 'Thinking about think about this']);

    let text = '';
    let reasoning = '';
    for await (const chunk of await client().chat.completions.create({ model: 'gemini-thoughts/gemini-3-pro-preview', messages: ask, reasoning_effort: 'low', stream: true })) {
      const delta = (chunk.choices[0]?.delta ?? {}) as { content?: string | null; reasoning_content?: string };
      text += delta.content ?? '';
      reasoning += delta.reasoning_content ?? '';
    }
    expect([text, reasoning]).toEqual(['Gemini heard: think about this', 'Thinking about think about this']);
  });
});

describe('gemini: reasoning through the Responses API, and refusals', () => {
  it('maps reasoning.effort onto the thinking budget and reports the reasoning tokens', async () => {
    const res = await postJson('/v1/responses', { model: 'gemini/gemini-2.5-flash', input: 'think about this', reasoning: { effort: 'low' } });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect((await seenBy(res.headers.get('x-request-id')!)).body.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 1024 } });
    expect((JSON.parse(text) as { usage: unknown }).usage).toEqual({
      input_tokens: 3, input_tokens_details: { cached_tokens: 0 }, output_tokens: 13, output_tokens_details: { reasoning_tokens: 8 }, total_tokens: 16,
    });
  });

  it('refuses an effort no model knows before any upstream call', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'gemini/gemini-2.5-flash', messages: ask, reasoning_effort: 'extreme' });
    const { id } = await expectError(res, { status: 400, code: 'invalid_request', param: 'reasoning_effort', keyId: 'team-a' });
    expect(await upstreamSaw(id)).toEqual([]);
  });
});

describe('OpenAI-format providers: reasoning_effort goes as sent', () => {
  it.each(['openai/gpt-test', 'azure-chat'])('%s', async (model) => {
    const { response } = await client().chat.completions.create({ model, messages: ask, reasoning_effort: 'minimal' }).withResponse();
    const seen = await upstreamSaw(response.headers.get('x-request-id')!);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.body).toMatchObject({ reasoning_effort: 'minimal', messages: ask });
  });
});
