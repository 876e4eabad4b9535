// Writes bench/results/latest.json and latest.md, and prints the Budget lines.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { budget } from './budget.mjs';

const out = join(dirname(fileURLToPath(import.meta.url)), 'results');
const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const n0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const ratio = (a, b) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '–');
const table = (head, rows) => [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i ? '---:' : '---')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

function closedTable(results, connections) {
  const rows = results.closed.filter((r) => r.connections === connections);
  const floor = rows.find((r) => r.name === 'floor');
  const pk = rows.find((r) => r.name === 'portkey');
  return table(
    // mean: connections / req/s (Little's law), the average latency a closed loop sees.
    ['path', 'req/s', '× floor', '× Portkey', 'mean ms', 'p50 ms', 'p99 ms', 'max ms', 'errors (timeouts)', 'CPU ms/req', 'CPU − floor'],
    rows.map((r) => [r.name, n0(r.rps), ratio(r.rps, floor?.rps), ratio(r.rps, pk?.rps), f((connections * 1000) / r.rps), f(r.p50), f(r.p99), f(r.max), `${r.errors} (${r.timeouts})`, f(r.cpuMsPerReq), r === floor ? '' : f(r.cpuMsPerReq - floor?.cpuMsPerReq)]),
  );
}

function bindingTable(results) {
  // Each against the floor at its own connection count.
  const floorAt = (connections) => results.closed.find((r) => r.connections === connections && r.name === 'floor');
  return table(
    ['path (16 connections unless named)', 'req/s', '× floor', 'p50 ms', 'p99 ms', 'p99 / p50', 'CPU ms/req', 'CPU − floor'],
    results.bindings.map((r) => {
      const floor = floorAt(r.connections);
      return [r.name, n0(r.rps), ratio(r.rps, floor?.rps), f(r.p50), f(r.p99), f(r.p99 / r.p50, 1), f(r.cpuMsPerReq), f(r.cpuMsPerReq - floor?.cpuMsPerReq)];
    }),
  );
}

function openTable(results) {
  const floor = results.open.find((r) => r.name === 'floor');
  const pk = results.open.find((r) => r.name === 'portkey');
  return table(
    ['path', 'p50 ms', 'p99 ms', 'max ms', 'p50 − floor', 'p50 − Portkey', 'errors (timeouts)', 'CPU ms/req'],
    results.open.map((r) => [r.name, f(r.p50), f(r.p99), f(r.max), r === floor ? '' : f(r.p50 - floor?.p50), r === pk ? '' : f(r.p50 - pk?.p50), `${r.errors} (${r.timeouts})`, f(r.cpuMsPerReq)]),
  );
}

function streamTable(results) {
  const base = results.streams.find((s) => s.target === 'upstream' && !s.failure);
  const floor = results.streams.find((s) => s.label === 'floor' && !s.failure);
  return table(
    ['path', 'first chunk p50', 'p99', '− upstream', '− floor', 'total p50', 'total p99', 'network chunks', 'SSE events', 'CPU ms/stream'],
    results.streams.map((s) => (s.failure
      ? [s.label, `not measured: ${s.failure.replace(/\|/g, '/').replace(/\n/g, ' ')}`, '', '', '', '', '', '', '', '']
      : [s.label, f(s.first.p50), f(s.first.p99), s === base ? '' : f(s.first.p50 - base?.first.p50), s === base || s === floor ? '' : f(s.first.p50 - floor?.first.p50), f(s.total.p50), f(s.total.p99), f(s.chunksPerStream, 1), f(s.eventsPerStream, 1), s === base ? '' : f(s.cpuMsPerReq)])),
  );
}

function admissionTable(results) {
  const at = (path, key) => results.closed.find((r) => r.connections === 16 && r.target === 'gateway' && r.path === path && r.key === key);
  return table(
    ['path (16 connections)', 'limited req/s', 'unlimited req/s', 'limited / unlimited', 'p50 added by the limiter', 'CPU added by the limiter'],
    ['miss', 'off', 'hit'].map((p) => {
      const l = at(p, 'limited');
      const u = at(p, 'open');
      return [p === 'miss' ? 'cache miss' : p === 'off' ? 'cache off' : 'cache hit', n0(l?.rps), n0(u?.rps), ratio(l?.rps, u?.rps), `${f(l?.p50 - u?.p50)} ms`, `${f(l?.cpuMsPerReq - u?.cpuMsPerReq)} ms`];
    }),
  );
}

/** The typical guardrail set (bench/config.mjs) against the same calls without guardrails. */
function guardrailTable(results) {
  const row = (key) => results.closed.find((r) => r.connections === 16 && r.target === 'gateway' && r.path === 'off' && r.key === key);
  const stream = (key) => results.streams.find((s) => s.label === `gateway live (cache off, ${key})` && !s.failure);
  const [off, on] = [row('open'), row('guarded')];
  const [sOff, sOn] = [stream('unlimited key'), stream('guardrails on')];
  return table(
    ['cache off, unlimited key (16 connections)', 'req/s', 'p50 ms', 'CPU ms/req', 'stream first chunk p50', 'stream total p50', 'CPU ms/stream'],
    [
      ['guardrails off', n0(off?.rps), f(off?.p50), f(off?.cpuMsPerReq), f(sOff?.first.p50), f(sOff?.total.p50), f(sOff?.cpuMsPerReq)],
      ['typical guardrails on', n0(on?.rps), f(on?.p50), f(on?.cpuMsPerReq), f(sOn?.first.p50), f(sOn?.total.p50), f(sOn?.cpuMsPerReq)],
      ['added', ratio(on?.rps, off?.rps), f(on?.p50 - off?.p50), f(on?.cpuMsPerReq - off?.cpuMsPerReq), f(sOn?.first.p50 - sOff?.first.p50), f(sOn?.total.p50 - sOff?.total.p50), f(sOn?.cpuMsPerReq - sOff?.cpuMsPerReq)],
    ],
  );
}

export function markdown(results, lines) {
  const { opts, checks, over } = results;
  return [
    `Run ${results.started}, ${results.seconds} s in all; ${cpus().length} cores (load average before the run ${results.load.join(' / ')}), Node ${process.version}; ${opts.seconds} s per closed/open-loop row${opts.rounds > 1 ? `, median of ${opts.rounds} rounds` : ''}, ${opts.streams} streams per stream row. Peer: ${results.portkey}. One run on a shared machine: expect ±15% between runs; compare ratios within a run.`,
    '', '**Closed loop, 16 connections**', '', closedTable(results, 16),
    '', '**Closed loop, 64 connections**', '', closedTable(results, 64),
    '', '**What an emulated binding costs alone** (the floor Worker paying for it before forwarding; same workerd as the gateway\'s bindings)', '', bindingTable(results),
    '', `**Open loop, fixed ${opts.rate} req/s** (CPU per request here includes the process\'s idle work between requests)`, '', openTable(results),
    '', `**Streams** (one at a time; times in ms; the upstream sends 20 content chunks + finish + usage + [DONE] as separate writes)`, '', streamTable(results),
    '', '**What admission costs** (limited key: 2 request windows, tokens/min, concurrency, daily budget)', '', admissionTable(results),
    '', '**What guardrails cost** (typical set: PII and secrets redacted both ways, injection heuristics, a deny list, size limits; bench/config.mjs)', '', guardrailTable(results),
    '', `**Nothing lost**: ${checks.logRows} D1 rows for ${checks.sent} calls sent to the gateway (${checks.answered} answered, ${checks.unanswered} sent with no answer seen: errors or timeouts). Over-admission: a key limited to ${over.limit} requests, sent ${over.sent} at 64 connections: ${over.admitted} admitted, ${over.refused} refused, **${over.overAdmitted} over-admitted**, ${over.underAdmitted} short of the limit (under-admission).`,
    '', table(['key', 'answered', 'unanswered', '2xx seen', 'log rows', 'admitted rows', 'limiter count', 'exact'], checks.keys.map((k) => [k.key, k.answered, k.unanswered, k.clientAdmitted, k.logRows, k.admittedRows, k.limiterCount ?? `– (${k.limiterWhy})`, k.exact ? 'yes' : '**no**'])),
    '', '**Budget** (issue 11)', '', table(['line', 'this run', 'verdict'], lines.map((l) => [l.text, l.value + (l.why ? ` — ${l.why}` : ''), l.verdict === 'FAIL' ? '**FAIL**' : l.verdict])),
    '',
  ].join('\n');
}

export function write(results) {
  const lines = budget(results);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'latest.json'), `${JSON.stringify({ ...results, budget: lines }, null, 1)}\n`);
  writeFileSync(join(out, 'latest.md'), markdown(results, lines));
  console.log('\nBudget (issue 11):');
  for (const l of lines) console.log(`  ${l.verdict === 'pass' ? 'pass' : l.verdict === 'FAIL' ? 'FAIL' : 'n/a '}  ${l.text}: ${l.value}${l.why ? ` (${l.why})` : ''}`);
  console.log(`\nTables: ${join('bench', 'results', 'latest.md')}  JSON: ${join('bench', 'results', 'latest.json')}`);
}
