// Starts what the bench measures: the upstream (own process), the floor and the gateway
// (each its own Miniflare, i.e. its own workerd process, with the same bindings), and
// Portkey's published gateway on Node (own process). Reads each one's CPU time from /proc.
import { Miniflare } from 'miniflare';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gatewayConfig, SECRETS } from './config.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const TICK_MS = 1000 / 100; // USER_HZ: 100 on Linux

/** utime + stime of a process, ms (all its threads). */
function cpuOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** Pids whose parent is `pid`, recursively. */
function descendants(pid) {
  const byParent = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!byParent.has(ppid)) byParent.set(ppid, []);
      byParent.get(ppid).push(Number(entry));
    } catch { /* gone */ }
  }
  const out = [];
  const walk = (p) => { for (const c of byParent.get(p) ?? []) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}

/** A CPU meter over a fixed set of pids: ms used since the last reset. */
export function cpuMeter(pids) {
  const total = () => pids.reduce((sum, pid) => sum + cpuOf(pid), 0);
  return { pids, total };
}

const SPAWNED = new Set();
function track(child) {
  SPAWNED.add(child);
  child.on('exit', () => SPAWNED.delete(child));
  return child;
}
const WORKERD = new Set(); // Miniflare's workerd processes: ended by Miniflare's dispose, or here on a signal
const PERSIST = new Set(); // their temporary D1/KV/DO folders
export function killAll() {
  for (const dir of PERSIST) rmSync(dir, { recursive: true, force: true });
  for (const child of SPAWNED) child.kill('SIGTERM');
  for (const pid of WORKERD) {
    try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
  }
}

export async function startUpstream() {
  const child = track(spawn(process.execPath, [join(here, 'upstream.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(JSON.parse(String(d)).port));
    child.once('exit', (code) => reject(new Error(`upstream exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}/v1`, cpu: cpuMeter([child.pid]), stop: () => child.kill('SIGTERM') };
}

function miniflareOptions(persist, extra) {
  return {
    modules: true,
    host: '127.0.0.1',
    port: 0,
    compatibilityDate: '2026-05-01',
    compatibilityFlags: ['enable_request_signal'],
    d1Databases: { DB: 'bench-log' },
    kvNamespaces: ['CACHE'],
    d1Persist: join(persist, 'd1'),
    kvPersist: join(persist, 'kv'),
    durableObjectsPersist: join(persist, 'do'),
    ...extra,
  };
}

async function startMiniflare(persist, extra) {
  const before = new Set(descendants(process.pid));
  const mf = new Miniflare(miniflareOptions(persist, extra));
  const url = String(await mf.ready).replace(/\/$/, '');
  const pids = descendants(process.pid).filter((p) => !before.has(p));
  if (pids.length === 0) throw new Error('could not find the workerd process of a Miniflare instance');
  for (const pid of pids) WORKERD.add(pid);
  return { mf, url, cpu: cpuMeter(pids) };
}

async function applyMigrations(mf) {
  const db = await mf.getD1Database('DB');
  for (const file of readdirSync(join(root, 'migrations')).sort()) {
    const sql = readFileSync(join(root, 'migrations', file), 'utf8').replace(/--.*$/gm, '');
    for (const statement of sql.split(';').map((s) => s.trim()).filter(Boolean)) await db.prepare(statement).run();
  }
  return db;
}

/** The floor: bench/floor-worker.js, same options and bindings as the gateway. */
export async function startFloor(upstreamUrl) {
  const persist = mkdtempSync(join(tmpdir(), 'bench-floor-'));
  PERSIST.add(persist);
  const t = await startMiniflare(persist, {
    scriptPath: join(here, 'floor-worker.js'),
    durableObjects: { COUNTER: { className: 'Counter', useSQLite: true } },
    bindings: { UPSTREAM: upstreamUrl },
  });
  return { ...t, name: 'floor', stop: async () => { await t.mf.dispose(); rmSync(persist, { recursive: true, force: true }); } };
}

/** The gateway as built by `npm run build` (dist/index.js), with local D1, KV and Durable Objects. */
export async function startGateway(upstreamUrl, limits, extra = {}) {
  const persist = mkdtempSync(join(tmpdir(), 'bench-gateway-'));
  PERSIST.add(persist);
  const t = await startMiniflare(persist, {
    scriptPath: join(root, 'dist', 'index.js'),
    durableObjects: { LIMITER: { className: 'Limiter', useSQLite: true }, HEALTH: { className: 'Health', useSQLite: true } },
    bindings: { GATEWAY_CONFIG: gatewayConfig(upstreamUrl, limits), ...SECRETS },
    ...extra,
  });
  const db = await applyMigrations(t.mf);
  return { ...t, name: 'gateway', db, stop: async () => { await t.mf.dispose(); rmSync(persist, { recursive: true, force: true }); } };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/**
 * Portkey's gateway from npm (@portkey-ai/gateway), its own start script on Node:
 * `build/start-server.js --port=N --headless`. Routed per request with
 * x-portkey-provider: openai + x-portkey-custom-host: <upstream base URL>.
 * Returns undefined, with the reason, when it is not installed or does not start.
 */
export async function startPortkey(upstreamUrl) {
  let script;
  try {
    script = join(dirname(createRequire(import.meta.url).resolve('@portkey-ai/gateway/package.json')), 'build', 'start-server.js');
  } catch {
    return { missing: '@portkey-ai/gateway is not installed (npm install --save-dev @portkey-ai/gateway)' };
  }
  const port = await freePort();
  const child = track(spawn(process.execPath, [script, `--port=${port}`, '--headless'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  }));
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-2000); });
  const url = `http://127.0.0.1:${port}`;
  const headers = { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': upstreamUrl, authorization: 'Bearer sk-bench-upstream' };
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return { missing: `Portkey exited with code ${child.exitCode}: ${stderr.trim()}` };
    try {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'ping' }] }),
      });
      const text = await res.text();
      if (res.status === 200 && text.includes('benchmark answer')) {
        return { name: 'portkey', url, headers, cpu: cpuMeter([child.pid, ...descendants(child.pid)]), stderr: () => stderr, stop: () => child.kill('SIGTERM') };
      }
      child.kill('SIGTERM');
      return { missing: `Portkey answered ${res.status}: ${text.slice(0, 300)}` };
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  child.kill('SIGTERM');
  return { missing: `Portkey did not answer within 15 s: ${stderr.trim()}` };
}
