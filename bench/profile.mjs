// Where the gateway's CPU goes on one path: runs the built Worker (dist/, `npm run build`
// first) in Miniflare with its inspector on, loads one scenario with autocannon, and
// samples workerd's V8 profiler meanwhile (Chrome DevTools protocol). Prints the
// functions with the most self time and writes the profile to
// bench/results/<path>-<key>.cpuprofile (open it in Chrome DevTools, Performance tab).
//
//   node bench/profile.mjs [miss|off|hit] [limited|leased|open] [seconds]
//   CONNS=64 node bench/profile.mjs hit open   (connections; 16 unless set)
//
// Proportions hold on a busy machine; absolute times do not (use `npm run bench`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { run } from './load.mjs';
import { GATEWAY_PATHS, KEYS } from './scenarios.mjs';
import { killAll, startGateway, startUpstream } from './targets.mjs';

const [path = 'off', key = 'open', seconds = '5'] = process.argv.slice(2);
const INSPECTOR_PORT = 9329;

function devtools(url) {
  const socket = new WebSocket(url);
  let id = 0;
  const waiting = new Map();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data));
    if (message.id && waiting.has(message.id)) {
      waiting.get(message.id)(message);
      waiting.delete(message.id);
    }
  });
  const opened = new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  return {
    opened,
    send: (method, params = {}) =>
      new Promise((resolve) => {
        waiting.set(++id, resolve);
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}

/** Self time per function (name, file:line), from the sampled profile. */
function topFunctions(profile, count = 30) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  const gaps = profile.timeDeltas;
  profile.samples.forEach((nodeId, i) => {
    const frame = byId.get(nodeId).callFrame;
    const file = frame.url.split('/').pop() || '(native)';
    const name = `${frame.functionName || '(anonymous)'}  ${file}:${frame.lineNumber + 1}`;
    selfUs.set(name, (selfUs.get(name) ?? 0) + (gaps[i + 1] ?? 0));
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  return { total, rows: [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, count).map(([name, us]) => ({ name, ms: us / 1000, share: us / total })) };
}

try {
  const upstream = await startUpstream();
  const gateway = await startGateway(upstream.url, { tight: 1000 }, { inspectorPort: INSPECTOR_PORT });
  const target = { url: gateway.url, headers: KEYS[key], cpu: gateway.cpu };
  const body = GATEWAY_PATHS[path].body('profile');
  const warm = await run(target, { body, connections: 16, amount: 100, limitS: 30 }); // warm-up (and the hit's entry)
  console.error(`warm-up: ${warm.ok} ok at ${warm.rps.toFixed(0)} req/s, statuses ${JSON.stringify(warm.statuses)}`);
  const list = await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json`)).json();
  const worker = list.find((t) => !/Limiter|Health/.test(t.title)) ?? list[0];
  const tools = devtools(worker.webSocketDebuggerUrl);
  await tools.opened;
  await tools.send('Profiler.enable');
  await tools.send('Profiler.setSamplingInterval', { interval: 100 });
  await tools.send('Profiler.start');
  const load = await run(target, { body, connections: Number(process.env.CONNS ?? 16), amount: Math.round(Number(seconds) * 150), limitS: Number(seconds) * 3 });
  const { result } = await tools.send('Profiler.stop');
  tools.close();
  const out = join(import.meta.dirname, 'results', `${path}-${key}.cpuprofile`);
  writeFileSync(out, JSON.stringify(result.profile));
  const { total, rows } = topFunctions(result.profile);
  console.log(`${path} / ${key}: ${load.ok} answered at ${load.rps.toFixed(0)} req/s; sampled ${(total / 1000).toFixed(0)} ms of the Worker's main thread (${(total / 1000 / load.ok).toFixed(3)} ms/req); profile: ${out}`);
  for (const row of rows) console.log(`${(row.share * 100).toFixed(1).padStart(5)}%  ${(row.ms / load.ok * 1000).toFixed(0).padStart(5)} µs/req  ${row.name}`);
  await gateway.stop();
  upstream.stop();
} finally {
  killAll();
}
