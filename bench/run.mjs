// Benchmark: the built Worker (wrangler deploy --dry-run output) in miniflare, with real
// local D1 and Durable Objects, driven from Node. No wrangler dev proxy in between.
// Usage: npm run bench [-- --requests 2000 --concurrency 32]
import { Miniflare } from 'miniflare';
import { createServer } from 'node:http';
import { execSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const REQUESTS = arg('requests', 2000);
const CONCURRENCY = arg('concurrency', 32);

// A local OpenAI-style upstream that answers at once, so a miss pays a real HTTP round trip.
const upstream = createServer((req, res) => {
  let raw = '';
  req.on('data', (chunk) => (raw += chunk));
  req.on('end', () => {
    const body = JSON.parse(raw);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({
      id: 'chatcmpl-bench', object: 'chat.completion', created: 1700000000, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'benchmark answer' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    }));
  });
});
await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}/v1`;

execSync('npx wrangler deploy --dry-run --outdir dist --env=""', { stdio: 'ignore', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } });

const config = {
  providers: { demo: { kind: 'demo' }, local: { kind: 'openai-compatible', base_url: upstreamUrl, allow_private_network: true } },
  models: {
    demo: { targets: [{ provider: 'demo', model: 'demo-1' }] },
    upstream: { targets: [{ provider: 'local', model: 'm' }] },
    cached: { targets: [{ provider: 'local', model: 'm' }], cache: { enabled: true } },
  },
  keys: {
    open: { secrets: ['KEY_OPEN'] },
    limited: {
      secrets: ['KEY_LIMITED'],
      limits: { requests: [{ limit: 1e9, window_s: 60 }, { limit: 1e9, window_s: 3600 }], tokens_per_minute: 1e12, concurrency: 10000, budget_usd: { daily: 1e9 } },
    },
  },
  prices: { 'demo/demo-1': { input_per_mtok: 1, output_per_mtok: 2 } },
};

const persist = mkdtempSync(join(tmpdir(), 'gateway-bench-'));
const mf = new Miniflare({
  modules: true,
  scriptPath: 'dist/index.js',
  compatibilityDate: '2026-05-01',
  compatibilityFlags: ['enable_request_signal'],
  d1Databases: { DB: 'bench-log' },
  kvNamespaces: ['CACHE'],
  durableObjects: { LIMITER: { className: 'Limiter', useSQLite: true }, HEALTH: { className: 'Health', useSQLite: true } },
  bindings: { GATEWAY_CONFIG: config, KEY_OPEN: 'sk-bench-open', KEY_LIMITED: 'sk-bench-limited' },
  d1Persist: persist,
  durableObjectsPersist: persist,
});
const db = await mf.getD1Database('DB');
for (const file of readdirSync('migrations').sort()) {
  const sql = readFileSync(join('migrations', file), 'utf8').replace(/--.*$/gm, '');
  for (const statement of sql.split(';').map((s) => s.trim()).filter(Boolean)) {
    await db.prepare(statement).run();
  }
}

const body = JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'benchmark me' }] });
async function call(key, payload = body) {
  const started = performance.now();
  const res = await mf.dispatchFetch('http://gateway/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: payload,
  });
  await res.text();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  return performance.now() - started;
}

async function latencies(n, payloadFor) {
  const times = [];
  for (let i = 0; i < n; i++) times.push(await call('sk-bench-open', payloadFor(i)));
  times.sort((a, b) => a - b);
  return { p50: pct(times, 0.5), p95: pct(times, 0.95) };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

async function sequential(key, n) {
  const times = [];
  for (let i = 0; i < n; i++) times.push(await call(key));
  times.sort((a, b) => a - b);
  return { p50: pct(times, 0.5), p95: pct(times, 0.95) };
}

async function throughput(key, n, concurrency) {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < n) await call(key);
  }));
  return n / ((performance.now() - started) / 1000);
}

for (const key of ['sk-bench-open', 'sk-bench-limited']) await sequential(key, 200); // warm up
const open = await sequential('sk-bench-open', REQUESTS / 2);
const limited = await sequential('sk-bench-limited', REQUESTS / 2);
const openRps = await throughput('sk-bench-open', REQUESTS, CONCURRENCY);
const limitedRps = await throughput('sk-bench-limited', REQUESTS, CONCURRENCY);
const chat = (model, content) => JSON.stringify({ model, temperature: 0, messages: [{ role: 'user', content }] });
const uncached = await latencies(REQUESTS / 4, (i) => chat('upstream', `uncached ${i}`));
const misses = await latencies(REQUESTS / 4, (i) => chat('cached', `miss ${i}`));
await call('sk-bench-open', chat('cached', 'the hit'));
await new Promise((resolve) => setTimeout(resolve, 200)); // the entry is written in waitUntil
const hits = await latencies(REQUESTS / 4, () => chat('cached', 'the hit'));
await new Promise((resolve) => setTimeout(resolve, 200)); // the last log batch is written in waitUntil
const rows = await db.prepare('SELECT COUNT(*) AS n FROM calls').first();
const hitRows = await db.prepare("SELECT COUNT(*) AS n FROM calls WHERE cache_status = 'HIT'").first();

const ms = (x) => `${x.toFixed(2)} ms`;
console.log(`sequential, no limits:   p50 ${ms(open.p50)}  p95 ${ms(open.p95)}`);
console.log(`sequential, 6 rules:     p50 ${ms(limited.p50)}  p95 ${ms(limited.p95)}`);
console.log(`admission adds (p50):    ${ms(limited.p50 - open.p50)}`);
console.log(`throughput, no limits:   ${openRps.toFixed(0)} req/s (${CONCURRENCY} concurrent)`);
console.log(`throughput, one key's limiter object: ${limitedRps.toFixed(0)} req/s (${CONCURRENCY} concurrent)`);
console.log(`upstream, no cache:      p50 ${ms(uncached.p50)}  p95 ${ms(uncached.p95)}`);
console.log(`cache miss (+store):     p50 ${ms(misses.p50)}  p95 ${ms(misses.p95)}`);
console.log(`cache hit:               p50 ${ms(hits.p50)}  p95 ${ms(hits.p95)}  (${hitRows.n} hits logged)`);
const expected = 400 + REQUESTS + 2 * REQUESTS + (3 * REQUESTS) / 4 + 1;
console.log(`call log rows written:   ${rows.n} of ${expected} calls`);
await mf.dispose();
upstream.close();
