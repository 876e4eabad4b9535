// npm run bench [-- --quick] [-- --seconds 5 --rounds 1 --streams 200 --tight 1000 --no-portkey]
// The floor, the gateway and Portkey side by side against one local upstream, in one run.
// Scenarios, method and caveats: bench/README.md. Results: bench/results/latest.{json,md}.
import { execSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLoop, openSummary, run, streamRows } from './load.mjs';
import { BINDINGS, CLOSED, GATEWAY_PATHS, KEYS, OPEN, PEER_BODY, STREAMS, rowName } from './scenarios.mjs';
import { killAll, startFloor, startGateway, startPortkey, startUpstream } from './targets.mjs';
import { verify } from './verify.mjs';
import { write } from './report.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const num = (name, fallback) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? Number(argv[i + 1]) : fallback; };
const quick = flag('quick');
const opts = {
  seconds: num('seconds', quick ? 2 : 5),
  rounds: num('rounds', 1),
  streams: num('streams', quick ? 40 : 200),
  tight: num('tight', quick ? 300 : 1000),
  rate: num('rate', 100),
  connections: [16, 64],
  portkey: !flag('no-portkey'),
};
const log = (...a) => console.error(...a);

// A hard bound: whatever happens, the bench ends and takes its processes with it.
const watchdog = setTimeout(() => { log('bench: over 15 minutes, giving up'); killAll(); process.exit(2); }, 15 * 60_000);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { killAll(); process.exit(130); });

log('building the gateway (wrangler deploy --dry-run)...');
try {
  execSync('npx wrangler deploy --dry-run --outdir dist --env=""', { cwd: root, stdio: 'pipe', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } });
} catch (error) {
  log(`bench: the build failed (npm run build shows why):\n${String(error.stderr ?? error.stdout ?? error).slice(-2000)}`);
  process.exit(1);
}

const upstream = await startUpstream();
const targets = { upstream };
let results;
try {
  targets.floor = await startFloor(upstream.url);
  targets.gateway = await startGateway(upstream.url, { tight: opts.tight });
  const pk = opts.portkey ? await startPortkey(upstream.url) : { missing: 'skipped (--no-portkey)' };
  if (pk.missing) log(`Portkey not measured: ${pk.missing}`);
  else targets.portkey = pk;
  results = await measureAll(targets, pk.missing);
} finally {
  for (const t of ['floor', 'gateway']) await targets[t]?.stop().catch(() => {});
  targets.portkey?.stop();
  upstream.stop();
  killAll();
}
clearTimeout(watchdog);

async function measureAll(targets, portkeyMissing) {
  const started = Date.now();
  const loadBefore = loadavg().map((x) => Number(x.toFixed(2)));
  // Everything the gateway answered, to check the call log against; per key, to check the limiter.
  // Unanswered: sent, but no response seen (an error or a timeout).
  const tally = { answered: 0, unanswered: 0, byKey: { limited: {}, leased: {}, open: {}, tight: {}, guarded: {} }, unansweredByKey: { limited: 0, leased: 0, open: 0, tight: 0, guarded: 0 } };
  const count = (key, statuses, unanswered = 0) => {
    tally.unansweredByKey[key] += unanswered;
    for (const [status, n] of Object.entries(statuses)) {
      tally.answered += n;
      tally.byKey[key][status] = (tally.byKey[key][status] ?? 0) + n;
    }
    tally.unanswered += unanswered;
  };

  const gatewayRun = async (path, key, load, tag) => {
    const r = await run(targets.gateway, { body: GATEWAY_PATHS[path].body(tag), headers: KEYS[key], ...load });
    count(key, r.statuses, r.sent - r.answered);
    return r;
  };
  const runOnce = (target, path, key, load, tag) =>
    target === 'gateway' ? gatewayRun(path, key, load, tag) : run(targets[target], { body: PEER_BODY, ...load });
  const present = (target) => Boolean(targets[target]);
  // Each closed-loop run is a fixed number of requests, sized from the warm-up's rate to last
  // about opts.seconds (and bounded at 6x that): no request is cut when it ends.
  const rateOf = new Map();
  const once = (target, path, key, load, tag) => {
    const amount = Math.max(load.connections * 4, Math.round((rateOf.get(`${target}|${path}|${key}`) ?? 200) * opts.seconds));
    return runOnce(target, path, key, { ...load, amount, limitS: opts.seconds * 6 + 5 }, tag);
  };

  log('warming up...');
  for (const target of ['floor', 'portkey']) if (present(target)) {
    rateOf.set(`${target}|peer|undefined`, (await runOnce(target, 'peer', undefined, { connections: 16, amount: 1000 })).rps);
  }
  for (const path of Object.keys(GATEWAY_PATHS)) for (const key of ['limited', 'leased', 'open']) {
    rateOf.set(`gateway|${path}|${key}`, (await gatewayRun(path, key, { connections: 16, amount: 400 }, `warm-${key}`)).rps);
  }
  rateOf.set('gateway|off|guarded', (await gatewayRun('off', 'guarded', { connections: 16, amount: 400 }, 'warm-guarded')).rps);
  await new Promise((r) => setTimeout(r, 300)); // cache writes happen in waitUntil

  // Closed loop; with --rounds N the rows take turns N times and each keeps its median round (by req/s).
  const closed = [];
  for (const connections of opts.connections) {
    const rows = CLOSED.filter(([target]) => present(target));
    const rounds = rows.map(() => []);
    for (let r = 0; r < opts.rounds; r++) {
      for (const [n, [target, path, key]] of rows.entries()) rounds[n].push(await once(target, path, key, { connections }, `c${connections}-r${r}`));
    }
    for (const [n, [target, path, key]] of rows.entries()) {
      const sorted = rounds[n].sort((a, b) => a.rps - b.rps);
      const row = { name: rowName(target, path, key), target, path, key, ...sorted[Math.floor(sorted.length / 2)], rounds: sorted.map((x) => Math.round(x.rps)) };
      log(`${connections} conns  ${row.name}: ${row.rps.toFixed(0)} req/s  p50 ${row.p50.toFixed(2)} ms  p99 ${row.p99.toFixed(2)} ms  cpu ${row.cpuMsPerReq.toFixed(2)} ms/req  errors ${row.errors}`);
      closed.push(row);
    }
  }

  const bindings = [];
  for (const [binding, name, connections] of BINDINGS) {
    const load = { body: PEER_BODY, headers: { 'x-bench-binding': binding }, connections };
    const warm = await run(targets.floor, { ...load, amount: 300 });
    const r = await run(targets.floor, { ...load, amount: Math.max(64, Math.round(warm.rps * opts.seconds)), limitS: opts.seconds * 6 + 5 });
    log(`${connections} conns  ${name}: ${r.rps.toFixed(0)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  cpu ${r.cpuMsPerReq.toFixed(2)} ms/req`);
    bindings.push({ name, binding, ...r });
  }

  // Open loop: one-second slices, the rows taking turns, merged per row.
  const openRows = OPEN.filter(([target]) => present(target));
  const slices = openRows.map(() => []);
  for (let sec = 0; sec < opts.seconds; sec++) {
    for (const [n, [target, path, key]] of openRows.entries()) {
      const load = { rate: opts.rate, count: opts.rate, offset: sec * opts.rate, connections: 16 };
      const gw = target === 'gateway';
      const sl = await openLoop(targets[target], { body: gw ? GATEWAY_PATHS[path].body('open') : PEER_BODY, headers: gw ? KEYS[key] : {}, ...load });
      if (gw) count(key, Object.fromEntries(Object.entries(sl.statuses).filter(([s]) => s !== '0')), sl.statuses[0] ?? 0);
      slices[n].push(sl);
    }
  }
  const open = openRows.map(([target, path, key], n) => ({ name: rowName(target, path, key), target, path, key, ...openSummary(slices[n]) }));
  for (const row of open) log(`${opts.rate} req/s  ${row.name}: p50 ${row.p50.toFixed(2)} ms  p99 ${row.p99.toFixed(2)} ms  (${row.rps.toFixed(0)} req/s done)`);

  // Streams: the replayed row is primed first (one live call stores the entry).
  const streamDefs = STREAMS.filter(([, target]) => present(target));
  for (const [label, target, body, key] of streamDefs) {
    if (!label.includes('replayed')) continue;
    const [prime] = await streamRows([{ target: targets[target], body, headers: KEYS[key] }], { count: 1 });
    count(key, { 200: prime.count });
    await new Promise((r) => setTimeout(r, 300));
  }
  const measured = await streamRows(streamDefs.map(([, target, body, key]) => ({ target: targets[target], body, headers: key ? KEYS[key] : {} })), { count: opts.streams });
  const streams = STREAMS.map(([label, target, , key]) => {
    if (!present(target)) return { label, target, failure: portkeyMissing };
    const r = measured[streamDefs.findIndex(([l]) => l === label)];
    if (key) count(key, { 200: r.count }, r.failure ? 1 : 0);
    if (r.failure && target === 'portkey') r.failure += ` — Portkey logged: ${targets.portkey.stderr().trim().split('\n').slice(0, 2).join(' ')}`;
    log(`stream ${label}: ${r.failure ? `FAILED ${r.failure}` : `first chunk p50 ${r.first.p50.toFixed(2)} ms, total p50 ${r.total.p50.toFixed(2)} ms, ${r.chunksPerStream.toFixed(1)} network chunks, ${r.eventsPerStream.toFixed(1)} events`}`);
    return { label, target, ...r };
  });

  // Over-admission: push one key with a small limit past it at 64 connections; count 200s.
  const tightRun = await gatewayRun('hit', 'tight', { connections: 64, amount: Math.round(opts.tight * 1.5), limitS: 60 }, 'tight');
  const over = { limit: opts.tight, sent: tightRun.sent, admitted: tightRun.statuses[200] ?? 0, refused: tightRun.statuses[429] ?? 0, statuses: tightRun.statuses };
  over.overAdmitted = Math.max(0, over.admitted - opts.tight);
  over.underAdmitted = Math.max(0, Math.min(opts.tight, over.sent) - over.admitted);
  log(`over-admission: limit ${over.limit}, ${over.admitted} admitted, ${over.refused} refused, over-admitted ${over.overAdmitted}`);

  log('checking the call log and the limiter...');
  const checks = await verify(targets.gateway, tally, opts.tight);
  return { opts, started: new Date(started).toISOString(), seconds: Math.round((Date.now() - started) / 1000), portkey: portkeyMissing ?? '@portkey-ai/gateway ' + portkeyVersion(), load: loadBefore, closed, bindings, open, streams, over, checks };
}

function portkeyVersion() {
  try { return execSync('node -p "require(\'@portkey-ai/gateway/package.json\').version"', { cwd: root }).toString().trim(); } catch { return '?'; }
}

if (results) write(results);
