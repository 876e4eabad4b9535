// The dashboard in a real browser: Debian's Chromium, driven by playwright-core, against
// `wrangler dev --env local` (what `npm run dev` runs) with real traffic logged through
// the gateway. Signs in, checks that every chart drew its data, that the overview's
// figures are the admin API's, walks keys, providers, calls and a call's detail, signs
// out, and saves screenshots in docs/screenshots/. Run: npm run test:browser
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';

const ROOT = new URL('../../', import.meta.url).pathname;
const SHOTS = join(ROOT, 'docs/screenshots');
const WRANGLER = join(ROOT, 'node_modules/.bin/wrangler');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CALLER_KEY = 'sk-local-dev-key';
// The local admin key, as wrangler.toml's [env.local.vars] sets it (and `npm run dev` prints it).
const ADMIN_KEY = /^GATEWAY_ADMIN_KEY = "([^"]+)"/m.exec(readFileSync(join(ROOT, 'wrangler.toml'), 'utf8'))[1];
const BLUE = [0x25, 0x63, 0xeb]; // the first series' colour (public/dashboard/static/charts.js)

// The local config plus what makes every chart move: prices, a cached alias, and a
// target that refuses connections so failovers, failures and an open breaker show.
const CONFIG = {
  providers: {
    demo: { kind: 'demo' },
    down: { kind: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1', allow_private_network: true, breaker: { failures: 2, cooldown_ms: 600_000, jitter: 0 } },
  },
  models: {
    demo: { targets: [{ provider: 'demo', model: 'demo-1' }] },
    'demo-cached': { targets: [{ provider: 'demo', model: 'demo-1' }], cache: { enabled: true } },
    'demo-failover': { targets: [{ provider: 'down', model: 'any' }, { provider: 'demo', model: 'demo-1' }] },
  },
  keys: {
    local: { secrets: ['GATEWAY_KEY_LOCAL'], models: ['*'], limits: { requests: [{ limit: 1000, window_s: 60 }], budget_usd: { daily: 5, monthly: 100 } } },
  },
  prices: { 'demo/demo-1': { input_per_mtok: 30, output_per_mtok: 60 }, 'down/any': { input_per_mtok: 30, output_per_mtok: 60 } },
  log: { batch_size: 20, flush_ms: 10 },
};

let origin;
let wrangler;
let persist;
let browser;
let page;
let window_; // { from, to } of the generated traffic, ISO

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const env = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function startGateway() {
  persist = mkdtempSync(join(tmpdir(), 'gateway-dashboard-'));
  const migrate = spawnSync(WRANGLER, ['d1', 'migrations', 'apply', 'edge-ai-gateway-log', '--local', '--env', 'local', '--persist-to', persist], { cwd: ROOT, env, encoding: 'utf8' });
  assert.equal(migrate.status, 0, migrate.stderr + migrate.stdout);
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  const log = createWriteStream(join(persist, 'wrangler-dev.log'));
  wrangler = spawn(
    WRANGLER,
    ['dev', '--env', 'local', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', persist, '--var', `GATEWAY_CONFIG:${JSON.stringify(CONFIG)}`],
    { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  wrangler.stdout.pipe(log);
  wrangler.stderr.pipe(log);
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${origin}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (wrangler.exitCode !== null) break;
    await sleep(250);
  }
  throw new Error(`wrangler dev did not start; its log: ${join(persist, 'wrangler-dev.log')}`);
}

function chat(model, content, extra = {}, key = CALLER_KEY) {
  return fetch(`${origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra }),
  }).then(async (response) => ({ status: response.status, id: response.headers.get('x-request-id'), body: await response.text() }));
}

/** Four rounds of mixed calls, 8 s apart: several 10-second buckets of the overview. */
async function generateTraffic() {
  const started = Date.now();
  for (let round = 0; round < 4; round++) {
    if (round > 0) await sleep(8_000);
    const results = await Promise.all([
      chat('demo', `hello dashboard ${round}`),
      chat('demo', `tell me about round ${round} in a few more words than before`),
      chat('demo', `stream round ${round}`, { stream: true, stream_options: { include_usage: true } }),
      chat('demo-cached', 'the same question every round', { temperature: 0 }),
      chat('demo-failover', `failover round ${round}`),
      chat('no-such-model', 'missing'),
      chat('demo', 'wrong key', {}, 'sk-wrong-key'),
    ]);
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200, 404, 401], JSON.stringify(results.map((r) => r.body)));
    // A second cached call once the first has been stored: a hit.
    assert.equal((await chat('demo-cached', 'the same question every round', { temperature: 0 })).status, 200);
  }
  await sleep(1_500); // the last rows' log batch
  window_ = { from: new Date(started - 5_000).toISOString(), to: new Date(Date.now() + 5_000).toISOString() };
}

async function adminApi(path) {
  const response = await fetch(`${origin}/admin/api/${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  assert.equal(response.status, 200);
  return response.json();
}

const rangeQuery = () => `from=${encodeURIComponent(window_.from)}&to=${encodeURIComponent(window_.to)}`;

async function open(path) {
  const response = await page.goto(`${origin}${path}`);
  await page.waitForSelector('body[data-ready]');
  assert.equal(await page.getAttribute('body', 'data-ready'), 'true', await page.locator('#main').innerText());
  return response;
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  await startGateway();
  await generateTraffic();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  page = await browser.newPage({ viewport: { width: 1360, height: 1100 } });
});

after(async () => {
  await browser?.close();
  if (wrangler && wrangler.exitCode === null) {
    process.kill(-wrangler.pid, 'SIGTERM');
    await new Promise((resolve) => wrangler.once('exit', resolve));
  }
  if (persist && !process.exitCode) rmSync(persist, { recursive: true, force: true });
});

describe('the dashboard in Chromium', () => {
  it('serves the same uPlot build as the installed package', () => {
    for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) {
      assert.ok(
        readFileSync(join(ROOT, 'public/dashboard/static/vendor', file)).equals(readFileSync(join(ROOT, 'node_modules/uplot/dist', file))),
        `public/dashboard/static/vendor/${file} differs from node_modules/uplot/dist: copy it again`,
      );
    }
  });

  it('shows a signed-out browser the 401 sign-in page, with no data and no API call', async () => {
    const apiCalls = [];
    page.on('request', (request) => request.url().includes('/admin/api') && apiCalls.push(request.url()));
    const response = await page.goto(`${origin}/dashboard`);
    assert.equal(response.status(), 401);
    assert.match(await page.locator('main').innerText(), /Sign in to see the dashboard\./);
    assert.equal(await page.locator('#main').count(), 0);
    assert.doesNotMatch(await page.content(), /demo-1|sk-local|Requests/);
    assert.deepEqual(apiCalls, []);
  });

  it('refuses a wrong admin key, then signs in with the right one', async () => {
    await page.fill('#key', 'not-the-key');
    const [refused] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(refused.status(), 401);
    assert.match(await page.locator('.problem').innerText(), /not the admin key/);
    await page.fill('#key', ADMIN_KEY);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(new URL(page.url()).pathname, '/dashboard');
    const [cookie] = await page.context().cookies();
    assert.equal(cookie.name, 'gateway_admin');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
  });

  it('draws every overview chart with data points, and shows the admin API figures', async () => {
    await open(`/dashboard?${rangeQuery()}`);
    const charts = await page.evaluate((blue) => {
      return window.dashboardCharts.map(({ title, chart }) => {
        const { width, height } = chart.ctx.canvas;
        const pixels = chart.ctx.getImageData(0, 0, width, height).data;
        let painted = 0;
        for (let i = 0; i < pixels.length; i += 4) {
          if (pixels[i + 3] > 200 && Math.abs(pixels[i] - blue[0]) < 10 && Math.abs(pixels[i + 1] - blue[1]) < 10 && Math.abs(pixels[i + 2] - blue[2]) < 10) painted++;
        }
        const points = chart.data[1].filter((v) => v !== null && v !== undefined).length;
        return { title, points, positive: chart.data[1].filter((v) => v > 0).length, painted };
      });
    }, BLUE);
    assert.deepEqual(charts.map((c) => c.title), ['Requests and errors', 'Latency', 'Tokens', 'Spend and cache savings (USD)', 'Cache hit ratio']);
    for (const chart of charts) {
      assert.ok(chart.positive >= 3, `${chart.title}: ${chart.positive} buckets with data`);
      assert.ok(chart.painted > 100, `${chart.title}: ${chart.painted} pixels of its first series drawn`);
    }

    const api = await adminApi(`overview?${rangeQuery()}`);
    // 32 calls, and the start-up probes of /healthz that fell in the window's first bucket.
    const listed = await adminApi(`calls?${rangeQuery()}&limit=200`);
    const probes = listed.calls.filter((c) => c.endpoint === '/healthz').length;
    assert.equal(api.totals.requests, 32 + probes);
    assert.equal(api.totals.errors_4xx, 8);
    assert.ok(api.totals.cache_hits >= 3, JSON.stringify(api.totals));
    const tiles = await page.$$eval('.tile', (els) => els.map((el) => [el.dataset.metric, el.dataset.value, el.querySelector('.value').textContent]));
    assert.equal(tiles.length, 10);
    for (const [metric, value, text] of tiles) {
      const expected = api.totals[metric];
      assert.equal(value === '' ? null : Number(value), expected, `tile ${metric}`);
      assert.notEqual(text, expected === null ? 'x' : '–', `tile ${metric} shows a number`);
    }
    assert.equal(tiles.find(([m]) => m === 'requests')[2], String(32 + probes));
    await page.screenshot({ path: join(SHOTS, 'overview.png'), fullPage: true });
  });

  it('shows the key with its requests, refusals and spend against its budgets', async () => {
    await open(`/dashboard/keys?${rangeQuery()}`);
    const api = await adminApi(`keys?${rangeQuery()}`);
    const local = api.keys.find((k) => k.key_id === 'local');
    assert.equal(local.requests, 28);
    assert.equal(local.budget.daily.limit_usd, 5);
    const row = page.locator('tr', { has: page.locator('a', { hasText: /^local$/ }) });
    const cells = await row.locator('td').allInnerTexts();
    assert.equal(cells[1], '28');
    assert.match(cells[7], / \/ \$5\.00$/);
    await page.screenshot({ path: join(SHOTS, 'keys.png'), fullPage: true });
  });

  it('shows the refusing target failing, failing over, and its breaker open', async () => {
    await open(`/dashboard/providers?${rangeQuery()}`);
    const api = await adminApi(`providers?${rangeQuery()}`);
    const down = api.targets.find((t) => t.target === 'down/any');
    assert.equal(down.breaker.state, 'open');
    assert.equal(down.failures, 2);
    assert.equal(down.failovers, 4);
    const row = page.locator('tr', { hasText: 'down/any' });
    assert.equal(await row.locator('.badge').innerText(), 'open');
    await page.screenshot({ path: join(SHOTS, 'providers.png'), fullPage: true });
  });

  it('filters the calls table and opens a call with its attempts', async () => {
    await open(`/dashboard/calls?${rangeQuery()}&status=error`);
    const statuses = await page.$$eval('tbody tr td:nth-child(5)', (tds) => tds.map((td) => td.textContent));
    assert.equal(statuses.length, 8);
    assert.ok(statuses.every((s) => /^40[14] /.test(s)), statuses.join(', '));

    await open(`/dashboard/calls?${rangeQuery()}&model=demo-failover`);
    await page.screenshot({ path: join(SHOTS, 'calls.png'), fullPage: true });
    // The oldest failover call tried the refusing target first.
    const links = page.locator('tbody tr td:first-child a');
    assert.equal(await links.count(), 4);
    await Promise.all([page.waitForNavigation(), links.last().click()]);
    await page.waitForSelector('body[data-ready="true"]');
    const fields = await page.locator('dl.fields').innerText();
    assert.match(fields, /model\s+demo-failover/);
    assert.match(fields, /attempts\s+2/);
    assert.doesNotMatch(await page.locator('main').innerText(), /\[object|null/);
    const attempts = await page.$$eval('section:last-of-type tbody tr', (rows) => rows.map((r) => [...r.children].map((td) => td.textContent)));
    assert.deepEqual(attempts.map((a) => [a[1], a[4]]), [['down/any', 'upstream_failed'], ['demo/demo-1', '–']]);
    await page.screenshot({ path: join(SHOTS, 'call.png'), fullPage: true });
  });

  it('signs out: the pages ask for the admin key again', async () => {
    await open('/dashboard');
    await Promise.all([page.waitForNavigation(), page.click('header form button')]);
    assert.equal(new URL(page.url()).pathname, '/dashboard/login');
    const response = await page.goto(`${origin}/dashboard`);
    assert.equal(response.status(), 401);
  });
});
