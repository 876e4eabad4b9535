import { describe, expect, it } from 'vitest';
import { KEYS } from './support/constants';
import { client, inWorker, logRow, postJson, postWithEnv, sseData, testEnv, upstreamSaw } from './support/gateway';

/** A prompt no other test uses, so every test starts from an empty cache. */
const fresh = (label: string) => [{ role: 'user' as const, content: `${label} ${crypto.randomUUID()}` }];
const ids = (responses: Response[]) => responses.map((r) => r.headers.get('x-request-id')!);

async function upstreamCalls(requestIds: string[]): Promise<number> {
  const seen = await Promise.all(requestIds.map(upstreamSaw));
  return seen.reduce((n, list) => n + list.length, 0);
}

/** Writes happen in waitUntil: wait until the entry is readable. */
async function afterStore(send: () => Promise<Response>): Promise<Response> {
  for (let i = 0; i < 50; i++) {
    const res = await send();
    if (res.headers.get('x-gateway-cache') === 'HIT') return res;
    await res.text();
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('entry never became a hit');
}

describe('the response cache', () => {
  it('misses, then hits without calling the upstream, logging savings', async () => {
    const messages = fresh('miss then hit');
    const first = await client().chat.completions.create({ model: 'cached', messages, temperature: 0 }).withResponse();
    expect(first.response.headers.get('x-gateway-cache')).toBe('MISS');
    expect(first.response.headers.get('cf-aig-cache-status')).toBe('MISS');

    const hit = await afterStore(() => postJson('/v1/chat/completions', { model: 'cached', messages, temperature: 0 }));
    expect(hit.headers.get('age')).toMatch(/^\d+$/);
    expect(hit.headers.get('x-gateway-provider')).toBe('openai');
    const body = (await hit.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);

    const hitId = hit.headers.get('x-request-id')!;
    expect(await upstreamSaw(hitId)).toHaveLength(0);
    const row = await logRow(hitId);
    expect(row).toMatchObject({ cache_status: 'HIT', status: 200, attempts: 0, cost_usd: 0, prompt_tokens: first.data.usage!.prompt_tokens });
    expect((row as unknown as { saved_usd: number }).saved_usd).toBeGreaterThan(0);
    expect(await logRow(first.response.headers.get('x-request-id')!)).toMatchObject({ cache_status: 'MISS' });
  });

  it('replays a streamed answer as a real stream, reassembling identically', async () => {
    const messages = fresh('stream replay');
    const collect = async () => {
      const { data, response } = await client().chat.completions.create({ model: 'cached', messages, temperature: 0, stream: true }).withResponse();
      let text = '';
      let chunks = 0;
      let finish: string | null = null;
      for await (const chunk of data) {
        chunks++;
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      return { text, chunks, finish, status: response.headers.get('x-gateway-cache') };
    };
    const miss = await collect();
    expect(miss.status).toBe('MISS');
    let hit = await collect();
    for (let i = 0; hit.status !== 'HIT' && i < 50; i++) hit = await collect();
    expect(hit).toMatchObject({ status: 'HIT', text: miss.text, finish: 'stop' });
    expect(hit.chunks).toBeGreaterThan(3);

    const raw = await postJson('/v1/chat/completions', { model: 'cached', messages, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const events = await sseData(raw);
    expect(events.at(-1)).toBe('[DONE]');
    expect(JSON.parse(events[0]!).choices[0].delta.role).toBe('assistant');
    const usage = JSON.parse(events.at(-2)!) as { choices: unknown[]; usage: { completion_tokens: number } };
    expect(usage.choices).toEqual([]);
    expect(usage.usage.completion_tokens).toBeGreaterThan(0);
  });

  it('serves an entry filled by a stream to a non-stream request, and the other way round', async () => {
    const a = fresh('stream fills');
    const streamed = await postJson('/v1/chat/completions', { model: 'cached', messages: a, temperature: 0, stream: true });
    const streamedText = (await sseData(streamed)).slice(0, -1).map((e) => JSON.parse(e).choices[0]?.delta?.content ?? '').join('');
    const json = await afterStore(() => postJson('/v1/chat/completions', { model: 'cached', messages: a, temperature: 0 }));
    const body = (await json.json()) as { object: string; choices: { message: { content: string }; finish_reason: string }[]; usage: unknown };
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0]).toMatchObject({ message: { content: streamedText }, finish_reason: 'stop' });
    expect(body.usage).toBeTruthy();

    const b = fresh('json fills');
    const whole = await client().chat.completions.create({ model: 'cached', messages: b, temperature: 0 });
    const replay = await afterStore(() => postJson('/v1/chat/completions', { model: 'cached', messages: b, temperature: 0, stream: true }));
    const text = (await sseData(replay)).slice(0, -1).map((e) => JSON.parse(e).choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe(whole.choices[0]!.message.content);
  });

  it('replays tool calls as tool-call deltas', async () => {
    const messages = fresh('tools');
    const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } }];
    const whole = await client().chat.completions.create({ model: 'cached', messages, tools, temperature: 0 });
    await afterStore(() => postJson('/v1/chat/completions', { model: 'cached', messages, tools, temperature: 0 }));
    const stream = await client().chat.completions.create({ model: 'cached', messages, tools, temperature: 0, stream: true });
    let name = '';
    let args = '';
    for await (const chunk of stream) {
      name += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.name ?? '';
      args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
    }
    const call = whole.choices[0]!.message.tool_calls![0]!;
    expect(name).toBe('lookup');
    expect(args).toBe(call.type === 'function' ? call.function.arguments : '');
  });

  it('caches embeddings (base64 by default) and answers them identically', async () => {
    const input = `embed ${crypto.randomUUID()}`;
    const first = await client().embeddings.create({ model: 'cached-embed', input });
    await afterStore(() => postJson('/v1/embeddings', { model: 'cached-embed', input, encoding_format: 'base64' }));
    const again = await client().embeddings.create({ model: 'cached-embed', input });
    expect(again.data[0]!.embedding).toEqual(first.data[0]!.embedding);
  });
});

describe('cache directives', () => {
  it('skip bypasses, refresh calls upstream and replaces, no-store does not store', async () => {
    const messages = fresh('directives');
    const body = { model: 'cached', messages, temperature: 0 };
    await afterStore(() => postJson('/v1/chat/completions', body));

    const skipped = await postJson('/v1/chat/completions', body, KEYS.teamA, { 'x-gateway-cache': 'skip' });
    expect(skipped.headers.get('x-gateway-cache')).toBe('BYPASS');
    expect(await upstreamCalls(ids([skipped]))).toBe(1);
    const aig = await postJson('/v1/chat/completions', body, KEYS.teamA, { 'cf-aig-skip-cache': 'true' });
    expect(aig.headers.get('cf-aig-cache-status')).toBe('BYPASS');

    const refreshed = await postJson('/v1/chat/completions', body, KEYS.teamA, { 'x-gateway-cache': 'refresh' });
    expect(refreshed.headers.get('x-gateway-cache')).toBe('REFRESH');
    expect(await upstreamCalls(ids([refreshed]))).toBe(1);

    const other = fresh('no-store');
    const notStored = await postJson('/v1/chat/completions', { ...body, messages: other }, KEYS.teamA, { 'x-gateway-cache': 'no-store' });
    await notStored.text();
    await new Promise((r) => setTimeout(r, 100));
    const next = await postJson('/v1/chat/completions', { ...body, messages: other });
    expect(notStored.headers.get('x-gateway-cache'), 'the no-store call itself').toBe('MISS');
    expect(next.headers.get('x-gateway-cache')).toBe('MISS');
  });

  it('expires an entry after the TTL the request asked for', async () => {
    const body = { model: 'cached', messages: fresh('ttl'), temperature: 0 };
    const ttl = { 'x-gateway-cache-ttl': '1' };
    await afterStore(() => postJson('/v1/chat/completions', body, KEYS.teamA, ttl));
    await new Promise((r) => setTimeout(r, 1100));
    const expired = await postJson('/v1/chat/completions', body);
    expect(expired.headers.get('x-gateway-cache')).toBe('MISS');
  });

  it('does not cache non-deterministic requests unless the route allows it', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'cached', messages: fresh('temperature') });
    expect(res.headers.get('x-gateway-cache')).toBe('BYPASS');
  });

  it('rejects a nonsense TTL with a clear 400', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'cached', messages: fresh('bad ttl'), temperature: 0 }, KEYS.teamA, { 'x-gateway-cache-ttl': 'soon' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('x-gateway-cache-ttl');
  });
});

describe('what is never cached or shared', () => {
  it('stores no errors, no cut streams, no streams that ended without finishing', async () => {
    for (const [model, stream] of [['cached-500', false], ['cached-reset', true], ['cached-no-done', true]] as const) {
      const body = { model, messages: fresh(model), temperature: 0, stream };
      const first = await postJson('/v1/chat/completions', body);
      await first.text();
      await new Promise((r) => setTimeout(r, 100));
      const second = await postJson('/v1/chat/completions', body);
      await second.text();
      expect(second.headers.get('x-gateway-cache') ?? 'MISS', model).toBe('MISS');
      expect(await upstreamCalls(ids([first, second])), model).toBe(2);
    }
  });

  it('never gives one tenant another tenant entry, unless they share a scope', async () => {
    const body = { model: 'cached', messages: fresh('tenants'), temperature: 0 };
    await afterStore(() => postJson('/v1/chat/completions', body, KEYS.teamA));
    // A key that may use the model, in another scope: served, but never from team A's entry.
    const otherTenant = await postJson('/v1/chat/completions', body, 'sk-tenant-x1');
    expect(otherTenant.status).toBe(200);
    expect(otherTenant.headers.get('x-gateway-cache')).toBe('MISS');

    const shared = { model: 'cached', messages: fresh('shared scope'), temperature: 0 };
    await afterStore(() => postJson('/v1/chat/completions', shared, 'sk-tenant-x1'));
    const sameScope = await postJson('/v1/chat/completions', shared, 'sk-tenant-x2');
    expect(sameScope.headers.get('x-gateway-cache')).toBe('HIT');
    const notShared = await postJson('/v1/chat/completions', shared, KEYS.teamA);
    expect(notShared.headers.get('x-gateway-cache')).toBe('MISS');
  });

  it('makes one upstream call for 20 identical concurrent misses', async () => {
    // The upstream takes 150 ms to answer, so all 20 arrive while the first is in flight.
    const body = { model: 'cached-slow', messages: fresh('stampede'), temperature: 0 };
    const responses = await Promise.all(Array.from({ length: 20 }, () => postJson('/v1/chat/completions', body)));
    const texts = await Promise.all(responses.map((r) => r.text()));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(new Set(texts.map((t) => JSON.parse(t).choices[0].message.content)).size).toBe(1);
    expect(await upstreamCalls(ids(responses))).toBe(1);
  });

  it('treats a failing KV as a miss, never an error', async () => {
    const broken = {
      get: () => Promise.reject(new Error('KV down')),
      put: () => Promise.reject(new Error('KV down')),
    } as unknown as KVNamespace;
    const { res } = await postWithEnv('/v1/chat/completions', { model: 'cached', messages: fresh('kv down'), temperature: 0 }, { CACHE: broken });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-cache')).toBe('MISS');
  });
});

describe('the cache and the rest of the gateway', () => {
  it('counts a hit as a request for the limiter, but no tokens or money', async () => {
    const { limitedKey } = await import('./support/test-config');
    const { loadConfig } = await import('../src/config/load');
    const { rulesFor } = await import('../src/limits/rules');
    const key = limitedKey('cache-hits');
    const body = { model: 'cached', messages: fresh('limited hit'), temperature: 0 };
    const usage = async () => {
      const rules = rulesFor(loadConfig(testEnv.GATEWAY_CONFIG), 'cache-hits', 'cached').key;
      const stub = testEnv.LIMITER.get(testEnv.LIMITER.idFromName('key:cache-hits'));
      return Object.fromEntries((await stub.usage(rules)).map((u) => [u.name, u.used]));
    };
    const miss = await postJson('/v1/chat/completions', body, key);
    const missRow = await logRow(miss.headers.get('x-request-id')!);
    const spent = (missRow.prompt_tokens ?? 0) + (missRow.completion_tokens ?? 0);
    await expect.poll(async () => (await usage())['tokens:60s'], { timeout: 3000 }).toBe(spent);

    const hit = await afterStore(() => postJson('/v1/chat/completions', body, key));
    expect(hit.headers.get('x-ratelimit-limit-requests')).toBe('1000');
    const hitRow = await logRow(hit.headers.get('x-request-id')!);
    expect(hitRow).toMatchObject({ cache_status: 'HIT', cost_usd: 0, limit_status: 'admitted' });
    // This key's rules are leased (src/limits/lease-book.ts): the counts are exact once the lease is returned.
    await expect.poll(async () => (await usage())['requests:60s'], { timeout: 3000 }).toBe(2);
    await expect.poll(async () => (await usage())['tokens:60s'], { timeout: 3000 }).toBe(spent);
    expect((await usage())['spend:day']).toBeCloseTo(missRow.cost_usd ?? 0, 12);
  });

  it('names the entry in x-gateway-cache-key, so one entry can be purged', async () => {
    const body = { model: 'cached', messages: fresh('purge one'), temperature: 0 };
    const miss = await postJson('/v1/chat/completions', body);
    const key = miss.headers.get('x-gateway-cache-key')!;
    expect(key).toMatch(/^cache:v1:[0-9a-f]{64}$/);
    await afterStore(() => postJson('/v1/chat/completions', body));
    const stored = await testEnv.CACHE.get<{ body: { choices: unknown[] } }>(key, 'json');
    expect(stored?.body.choices).toHaveLength(1);
    await testEnv.CACHE.delete(key);
    // Gone from KV; isolates that served it lately drop their copy within a minute
    // (src/cache/memory-tier.ts), as KV's own deletes reach every location. A refresh
    // replaces it at once.
    expect(await testEnv.CACHE.get(key)).toBeNull();
    const refreshed = await postJson('/v1/chat/completions', body, undefined, { 'x-gateway-cache': 'refresh' });
    expect(refreshed.headers.get('x-gateway-cache')).toBe('REFRESH');
  });

  it('serves repeated hits from the isolate, without a KV read each', async () => {
    let reads = 0;
    const counting = {
      get: (key: string, type: 'text') => (reads++, testEnv.CACHE.get(key, type)),
      put: (key: string, value: string, options: KVNamespacePutOptions) => testEnv.CACHE.put(key, value, options),
    } as unknown as KVNamespace;
    const body = { model: 'cached', messages: fresh('hot entry'), temperature: 0 };
    const call = (fetch: (request: Request) => Promise<Response>) =>
      fetch(new Request('http://gateway.test/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${KEYS.teamA}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })).then(async (res) => (await res.text(), res.headers.get('x-gateway-cache')));
    // The miss, and its store in the background (inWorker waits for it).
    const first = await inWorker({ CACHE: counting }, call);
    const statuses = [first];
    await inWorker({ CACHE: counting }, async (fetch) => {
      for (let i = 0; i < 4; i++) statuses.push(await call(fetch));
    });
    expect(statuses).toEqual(['MISS', 'HIT', 'HIT', 'HIT', 'HIT']);
    // The miss looked in KV; the store put the entry in the isolate's memory too.
    expect(reads).toBe(1);
  });

  it('never writes one key twice within a second, however many refreshes arrive (KV allows one write per second per key)', async () => {
    let writes = 0;
    const counting = {
      get: (key: string, type: 'json') => testEnv.CACHE.get(key, type),
      put: (key: string, value: string, options: KVNamespacePutOptions) => {
        writes++;
        return testEnv.CACHE.put(key, value, options);
      },
    } as unknown as KVNamespace;
    const body = JSON.stringify({ model: 'cached', messages: fresh('refresh storm'), temperature: 0 });
    await inWorker({ CACHE: counting }, async (fetch) => {
      for (let i = 0; i < 5; i++) {
        const res = await fetch(
          new Request('http://gateway.test/v1/chat/completions', {
            method: 'POST',
            headers: { authorization: `Bearer ${KEYS.teamA}`, 'content-type': 'application/json', 'x-gateway-cache': 'refresh' },
            body,
          }),
        );
        expect(res.headers.get('x-gateway-cache')).toBe('REFRESH');
        await res.text();
      }
    });
    expect(writes).toBe(1);
  });

  it('skips entries larger than max_entry_bytes', async () => {
    const config = structuredClone(testEnv.GATEWAY_CONFIG) as { cache?: Record<string, unknown> };
    config.cache = { max_entry_bytes: 200 };
    const body = { model: 'cached', messages: fresh('too big to keep'), temperature: 0 };
    const send = async () => (await postWithEnv('/v1/chat/completions', body, { GATEWAY_CONFIG: config })).res;
    expect((await send()).headers.get('x-gateway-cache')).toBe('MISS');
    expect((await send()).headers.get('x-gateway-cache')).toBe('MISS');
  });
});
