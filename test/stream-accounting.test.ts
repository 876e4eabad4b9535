import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load';
import { estimateTokens } from '../src/limits/estimate';
import { rulesFor } from '../src/limits/rules';
import { client, gateway, logRow, postJson, rowCount, testEnv } from './support/gateway';
import { limitedKey } from './support/test-config';

/**
 * Accounting when clients go away (issue 9, items 10-12): every call ends exactly
 * once (one row, its concurrency slot released, its reservation settled), and a
 * call that streamed something is charged for it, never zero.
 */

const story = [{ role: 'user' as const, content: 'tell me a long story please' }];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RowExtra {
  usage_source: string | null;
}

/** Starts a long streamed call and aborts it `afterMs` after its headers, the way a browser tab closes. */
async function abortedStream(key: string, afterMs: number, body: Record<string, unknown> = {}): Promise<string> {
  const controller = new AbortController();
  const res = await gateway('/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fixture/fault-drip-stream', messages: story, stream: true, ...body }),
    signal: controller.signal,
  });
  if (res.status !== 200) throw new Error(await res.text());
  const id = res.headers.get('x-request-id')!;
  const reader = res.body!.getReader();
  await reader.read();
  await sleep(afterMs);
  controller.abort();
  return id;
}

async function limiterUsed(keyId: string, model: string): Promise<Record<string, number>> {
  const rules = rulesFor(loadConfig(testEnv.GATEWAY_CONFIG), keyId, model).key;
  const stub = testEnv.LIMITER.get(testEnv.LIMITER.idFromName(`key:${keyId}`));
  return Object.fromEntries((await stub.usage(rules)).map((u) => [u.name, u.used]));
}

describe('streams whose clients go away', () => {
  it('each end exactly once: N aborted streams, N rows, and the key gets its full concurrency back', async () => {
    const key = limitedKey('abort-slots');
    const ids: string[] = [];
    for (let wave = 0; wave < 3; wave++) {
      ids.push(...(await Promise.all(Array.from({ length: 8 }, (_, i) => abortedStream(key, 100 + ((wave * 8 + i) * 37) % 500)))));
      // Each call's slot comes back when it has ended: soon after its client left, not at lease expiry.
      await expect.poll(async () => (await limiterUsed('abort-slots', 'fixture/fault-drip-stream')).concurrency, { timeout: 3000 }).toBe(0);
    }
    for (const id of ids) expect((await logRow(id, 5000)).status).toBe(499);
    expect((await Promise.all(ids.map(rowCount))).every((n) => n === 1)).toBe(true);

    const again = await Promise.all(
      Array.from({ length: 8 }, () => postJson('/v1/chat/completions', { model: 'fixture/fault-drip-stream', messages: story, stream: true }, key)),
    );
    expect(again.map((r) => r.status)).toEqual(Array(8).fill(200));
    await Promise.all(again.map((r) => r.body!.cancel()));
  }, 30_000);
});

describe('what an aborted or unreported stream is charged', () => {
  it('logs the tokens streamed before the client left, counted by the gateway, and charges them to the key', async () => {
    const key = limitedKey('abort-tokens');
    // tokens_per_minute 200: this call reserves its prompt plus max_tokens 100, which fits.
    const id = await abortedStream(key, 300, { max_tokens: 100 });
    const row = (await logRow(id, 5000)) as Awaited<ReturnType<typeof logRow>> & RowExtra;
    expect(row).toMatchObject({ status: 499, stream_cut: 1, usage_source: 'gateway' });
    expect(row.completion_tokens).toBeGreaterThan(0);
    expect(row.prompt_tokens).toBeGreaterThan(0);

    // Settled to what the row says, not to zero...
    const charged = row.prompt_tokens! + row.completion_tokens!;
    await expect.poll(async () => (await limiterUsed('abort-tokens', 'fixture/fault-drip-stream'))['tokens:60s'], { timeout: 3000 }).toBe(charged);
    // ...so the same call again no longer fits the key's token window.
    const refused = await postJson('/v1/chat/completions', { model: 'fixture/fault-drip-stream', messages: story, stream: true, max_tokens: 100 }, key);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { type: string } }).error.type).toBe('tokens');
  }, 15_000);

  it('counts a stream from a provider that reports no usage (stream_usage = false), and prices it', async () => {
    const { data: stream, response } = await client().chat.completions.create({ model: 'plain/echo', messages: story, stream: true }).withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: tell me a long story please');
    const row = (await logRow(response.headers.get('x-request-id')!)) as Awaited<ReturnType<typeof logRow>> & RowExtra;
    const prompt = estimateTokens('chat.completions', { model: 'plain/echo', messages: story, stream: true }, loadConfig(testEnv.GATEWAY_CONFIG).limits).prompt;
    // 33 bytes of text in 7 events: max(7, ceil(33 / 4)) = 9.
    expect(row).toMatchObject({ status: 200, stream_cut: 0, usage_source: 'gateway', prompt_tokens: prompt, completion_tokens: 9 });
    expect(row.cost_usd).toBeCloseTo((prompt * 10 + 9 * 30) / 1e6, 12);
  });

  it("keeps the provider's own usage when it reports it", async () => {
    const res = await postJson('/v1/chat/completions', { model: 'gpt-test', messages: story, stream: true });
    await res.text();
    const row = (await logRow(res.headers.get('x-request-id')!)) as Awaited<ReturnType<typeof logRow>> & RowExtra;
    expect(row).toMatchObject({ usage_source: 'provider', prompt_tokens: 7, completion_tokens: 7 });
  });
});
