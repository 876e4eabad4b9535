import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load';
import { rulesFor } from '../src/limits/rules';
import { limitedKey } from './support/test-config';
import { client, logRow, postJson, postWithEnv, testEnv, upstreamCount } from './support/gateway';

/**
 * Issue 9, items 13-15: per-model rules follow the upstream model whatever address the
 * caller uses; the reservation bounds what a provider bills; a budget cannot be
 * bypassed through a model without a price.
 */

const say = (text: string) => [{ role: 'user' as const, content: text }];
const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: say('hello there gateway'), ...extra });
type ErrorBody = { error: { message: string; type: string; param: string | null; code: string } };

async function status(model: string, key: string): Promise<number> {
  const res = await postJson('/v1/chat/completions', chat(model), key);
  await res.text();
  return res.status;
}

describe('per-model rules follow the upstream model, whatever address is used', () => {
  it("a key's rule on an alias holds for its provider/model address, in any spelling", async () => {
    const key = limitedKey('rule-alias');
    expect([await status('exact-chat', key), await status('exact-chat', key)]).toEqual([200, 200]);
    const direct = await postJson('/v1/chat/completions', chat('fixture/exact-chat'), key);
    expect(direct.status).toBe(429);
    expect(await logRow(direct.headers.get('x-request-id')!)).toMatchObject({ limited_by: 'model:exact-chat:requests:600s' });
    expect(await status('fixture/Exact-Chat', key)).toBe(429);
    expect(await status('fixture/exact-chat ', key)).toBe(429);
    // Other models of the key are not limited by it.
    expect(await status('gpt-test', key)).toBe(200);
  });

  it("a key's rule on provider/model holds for an alias that reaches it", async () => {
    const key = limitedKey('rule-direct');
    expect([await status('exact-direct-alias', key), await status('fixture/exact-direct', key)]).toEqual([200, 200]);
    expect(await status('exact-direct-alias', key)).toBe(429);
    await expect(client(key).chat.completions.create(chat('fixture/exact-direct') as never)).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('a fleet-wide rule on an alias holds for every key calling its provider/model', async () => {
    expect(await status('exact-fleet', limitedKey('fleet-a'))).toBe(200);
    expect(await status('fixture/exact-fleet', limitedKey('fleet-b'))).toBe(200);
    expect(await status('fixture/exact-fleet', limitedKey('fleet-a'))).toBe(429);
    expect(await status('exact-fleet', limitedKey('fleet-b'))).toBe(429);
  });

  it('a fleet-wide rule on provider/* holds for every model of the provider', async () => {
    const config = structuredClone(testEnv.GATEWAY_CONFIG) as { limits: { models: Record<string, unknown> } };
    config.limits.models['demo2/*'] = { requests: [{ limit: 2, window_s: 600 }] };
    const call = async (model: string) => (await postWithEnv('/v1/chat/completions', chat(model), { GATEWAY_CONFIG: config })).res.status;
    expect([await call('demo2/one'), await call('demo2/two')]).toEqual([200, 200]);
    expect([await call('demo2/three'), await call('weighted')]).toEqual([429, 429]);
    expect(await call('demo/one')).toBe(200);
  });

  it('a fleet-wide rule on provider/model holds for an alias that reaches it', async () => {
    expect(await status('exact-fleet-alias', limitedKey('fleet-a'))).toBe(200);
    expect(await status('exact-fleet-alias', limitedKey('fleet-b'))).toBe(200);
    expect(await status('fixture/exact-fleet-direct', limitedKey('fleet-a'))).toBe(429);
  });
});

/**
 * What OpenAI bills for a chat prompt (openai-cookbook, "How to count tokens with
 * tiktoken"): 3 per message, the tokens of every field, 1 more per name, 3 to prime
 * the reply. A token is at least one UTF-8 byte, so bytes stand in for tokens here.
 */
const bytes = (s: string) => new TextEncoder().encode(s).byteLength;
function openAIBill(messages: Record<string, string>[]): number {
  return 3 + messages.reduce((sum, m) => sum + 3 + Object.values(m).reduce((n, v) => n + bytes(v), 0) + (m.name ? 1 : 0), 0);
}

/**
 * What one call reserves, read through the limiter: the key's token count before the
 * call plus the reservation is what x-ratelimit-remaining-tokens is taken from. Each
 * call is awaited until settled, so the next one starts from a known count.
 */
async function reservation(path: string, body: Record<string, unknown>): Promise<number> {
  const key = 'tpm-reserve';
  const rules = rulesFor(loadConfig(testEnv.GATEWAY_CONFIG), key, String(body.model)).key;
  const stub = testEnv.LIMITER.get(testEnv.LIMITER.idFromName(`key:${key}`));
  const used = async () => (await stub.usage(rules)).find((u) => u.name === 'tokens:60s')!.used;
  const before = await used();
  const res = await postJson(path, body, limitedKey(key));
  expect(res.status).toBe(200);
  const row = await logRow(res.headers.get('x-request-id')!);
  await expect.poll(used, { timeout: 3000 }).toBe(before + (row.prompt_tokens ?? 0) + (row.completion_tokens ?? 0));
  return 1_000_000 - before - Number(res.headers.get('x-ratelimit-remaining-tokens'));
}

describe('the reservation is an upper bound of what providers bill', () => {
  it("covers OpenAI's per-message and per-name tokens", async () => {
    const messages = Array.from({ length: 12 }, (_, i) => ({ role: 'user', name: `participant_number_${i}_of_twelve`, content: '' }));
    const reserved = await reservation('/v1/chat/completions', { model: 'gpt-test', messages, max_tokens: 5 });
    expect(reserved).toBeGreaterThanOrEqual(openAIBill(messages) + 5);
  });

  it("covers a chat template's hidden system block (Llama 3.1: 26 tokens) on a tiny prompt", async () => {
    // <|begin_of_text|> + system block + <|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|> + reply header
    const llama = 1 + 26 + (4 + bytes('user') + bytes('hi')) + 4;
    const reserved = await reservation('/v1/chat/completions', { model: 'gpt-test', messages: say('hi'), max_tokens: 1 });
    expect(reserved).toBeGreaterThanOrEqual(llama + 1);
  });

  it('covers tool instructions an open-model template adds (Qwen 2.5: about 100 tokens)', async () => {
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }];
    const qwen = 22 + 100 + bytes(JSON.stringify(tools)) + openAIBill(say('hi'));
    const reserved = await reservation('/v1/chat/completions', { model: 'gpt-test', messages: say('hi'), tools, max_tokens: 1 });
    expect(reserved).toBeGreaterThanOrEqual(qwen + 1);
  });

  it('covers every completion a legacy completions call bills: prompts × best_of × max_tokens, and the suffix', async () => {
    const suffix = 'x'.repeat(200);
    const reserved = await reservation('/v1/completions', { model: 'gpt-test', prompt: ['a', 'b'], suffix, best_of: 3, max_tokens: 10 });
    expect(reserved).toBeGreaterThanOrEqual(2 * 3 * 10 + bytes(suffix) + 2);
  });

  it("never lets a model's logged tokens pass its tokens-per-minute limit when callers set max_tokens, whatever the address", async () => {
    // The fixture bills fewer tokens than bytes; what it adds to the estimator tests above
    // is the whole path: reservation, concurrency, settlement, and every address of the model.
    const key = limitedKey('tpm-exact');
    const addresses = ['gpt-test', 'openai/gpt-test', 'openai/GPT-Test'];
    const openai = client(key);
    const prompts = ['short', 'word '.repeat(60), '日本語のテキストも数えます', 'Ünïcödé mixed ascii '.repeat(10), 'a '.repeat(120)];
    let served = 0;
    let refused = 0;
    for (let round = 0; round < 8; round++) {
      // Five at a time: reservations, not luck, must keep concurrent calls under the limit.
      await Promise.all(
        prompts.map((content, i) =>
          openai.chat.completions
            .create({
              model: addresses[(round + i) % addresses.length]!,
              messages: [{ role: 'system', content: 'be brief' }, { role: 'user', name: `caller_${i}`, content }],
              max_tokens: 20,
            })
            .then(() => served++)
            .catch((error: unknown) => {
              expect(error).toBeInstanceOf(OpenAI.RateLimitError);
              refused++;
            }),
        ),
      );
    }
    expect(served).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    const count = () => testEnv.DB.prepare("SELECT COUNT(*) AS n FROM calls WHERE key_id = 'tpm-exact'").first<{ n: number }>();
    await expect.poll(async () => (await count())!.n, { timeout: 3000 }).toBe(40);
    const row = await testEnv.DB.prepare(
      "SELECT COALESCE(SUM(prompt_tokens), 0) + COALESCE(SUM(completion_tokens), 0) AS tokens FROM calls WHERE key_id = 'tpm-exact'",
    ).first<{ tokens: number }>();
    expect(row!.tokens).toBeLessThanOrEqual(1000);
  });
});

describe('a budget cannot be spent through a model without a price', () => {
  it('stops every address of a priced model once spent, and never logs more than the budget', async () => {
    const key = limitedKey('budget-exact');
    const addresses = ['priced-chat', 'fixture/priced-chat', 'fixture/Priced-Chat', 'fixture/priced-chat ', 'fixture/priced-chat-2024-01-01'];
    const statuses: number[] = [];
    let spentAt = -1;
    for (let i = 0; i < 60; i++) {
      const res = await postJson('/v1/chat/completions', chat(addresses[i % addresses.length]!, { max_tokens: 10 }), key);
      statuses.push(res.status);
      const body = await res.text();
      if (res.status === 429 && spentAt < 0) {
        spentAt = i;
        expect((JSON.parse(body) as ErrorBody).error.code).toBe('insufficient_quota');
      }
    }
    expect(spentAt).toBeGreaterThan(0);
    // After the budget ran out, no address of the model is served.
    expect(statuses.slice(spentAt).filter((s) => s === 200)).toEqual([]);
    // The date-suffixed snapshot has no price: refused at once, never free.
    expect(statuses.filter((_, i) => i % addresses.length === 4).every((s) => s === 403)).toBe(true);
    await expect
      .poll(async () => (await testEnv.DB.prepare("SELECT COUNT(*) AS n FROM calls WHERE key_id = 'budget-exact'").first<{ n: number }>())!.n)
      .toBe(60);
    const row = await testEnv.DB.prepare(
      "SELECT COALESCE(SUM(cost_usd), 0) AS spent, SUM(status = 200 AND cost_usd IS NULL) AS free FROM calls WHERE key_id = 'budget-exact'",
    ).first<{ spent: number; free: number }>();
    expect(row!.free).toBe(0);
    expect(row!.spent).toBeGreaterThan(0);
    expect(row!.spent).toBeLessThanOrEqual(0.02);
  });

  it('refuses an unpriced model to a key with a budget: 403 model_not_priced, no upstream call', async () => {
    const key = limitedKey('budget-unpriced');
    const before = await upstreamCount('unpriced-chat');
    const res = await postJson('/v1/chat/completions', chat('fixture/unpriced-chat'), key);
    expect(res.status).toBe(403);
    expect(((await res.json()) as ErrorBody).error).toMatchObject({ code: 'model_not_priced', type: 'invalid_request_error', param: 'model' });
    expect(await logRow(res.headers.get('x-request-id')!)).toMatchObject({ status: 403, limit_status: 'rejected', limited_by: 'unpriced' });
    // An alias with one unpriced target may be served by it: refused too.
    await expect(client(key).chat.completions.create(chat('half-priced') as never)).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(await upstreamCount('unpriced-chat')).toBe(before);
    // Keys without a budget are unaffected.
    expect(await status('fixture/unpriced-chat', limitedKey('tpm-reserve'))).toBe(200);
  });

  it('serves an unpriced model at limits.default_price when the config sets one, and charges it', async () => {
    const config = structuredClone(testEnv.GATEWAY_CONFIG) as { limits: Record<string, unknown> };
    config.limits.default_price = { input_per_mtok: 100, output_per_mtok: 200 };
    const { res } = await postWithEnv('/v1/chat/completions', chat('fixture/unpriced-chat', { max_tokens: 10 }), { GATEWAY_CONFIG: config }, limitedKey('budget-default'));
    expect(res.status).toBe(200);
    const row = await logRow(res.headers.get('x-request-id')!);
    expect(row.cost_usd).toBeCloseTo(((row.prompt_tokens ?? 0) * 100 + (row.completion_tokens ?? 0) * 200) / 1e6, 12);
    expect(row.cost_usd).toBeGreaterThan(0);
  });
});
