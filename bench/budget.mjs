// The Budget lines, each judged on this run's numbers: pass, FAIL, or n/a (with why).
const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

export function budget(results) {
  const { closed, open, streams, over, checks } = results;
  const at = (connections, name) => closed.find((r) => r.connections === connections && r.name === name);
  const openRow = (name) => open.find((r) => r.name === name);
  const stream = (label) => streams.find((s) => s.label === label && !s.failure);
  const lines = [];
  const line = (text, value, ok, na) => lines.push({ text, value, verdict: na ? 'n/a' : ok ? 'pass' : 'FAIL', ...(na ? { why: na } : {}) });
  const noPortkey = !at(16, 'portkey') && `Portkey not measured: ${results.portkey}`;

  const floor16 = at(16, 'floor');
  const pk16 = at(16, 'portkey');
  const miss = at(16, 'gateway cache miss, limited key');
  const off = at(16, 'gateway cache off, limited key');
  const hit = at(16, 'gateway cache hit, limited key');
  line('Cache miss with limits on: >= 2x Portkey req/s at 16 connections', `${f(miss?.rps / pk16?.rps)}x (${f(miss?.rps, 0)} vs ${f(pk16?.rps, 0)} req/s)`, miss?.rps >= 2 * pk16?.rps, noPortkey);
  line('Cache off: >= 0.35x the floor req/s (16 connections, limited key)', `${f(off?.rps / floor16?.rps)}x (${f(off?.rps, 0)} vs ${f(floor16?.rps, 0)} req/s)`, off?.rps >= 0.35 * floor16?.rps);
  line('Cache hit: >= 3x Portkey req/s (16 connections, limited key)', `${f(hit?.rps / pk16?.rps)}x (${f(hit?.rps, 0)} vs ${f(pk16?.rps, 0)} req/s)`, hit?.rps >= 3 * pk16?.rps, noPortkey);
  for (const row of [miss, off, hit]) {
    const extra = row?.cpuMsPerReq - floor16?.cpuMsPerReq;
    line(`Gateway CPU <= 0.8 ms/request beyond the floor (${row?.name}, 16 connections)`, `+${f(extra)} ms (${f(row?.cpuMsPerReq)} vs ${f(floor16?.cpuMsPerReq)})`, extra <= 0.8);
  }
  const floorOpen = openRow('floor');
  for (const [name, max] of [['gateway cache miss, limited key', 1.5], ['gateway cache hit, limited key', 1]]) {
    const added = openRow(name)?.p50 - floorOpen?.p50;
    line(`p50 added over the floor at ${results.opts.rate} req/s <= ${max} ms (${name})`, `+${f(added)} ms`, added <= max);
  }
  const floorStream = stream('floor');
  const live = stream('gateway live (cache off)');
  const replay = stream('gateway replayed from cache');
  const firstAdded = live?.first.p50 - floorStream?.first.p50;
  line('Streamed first chunk within 1 ms of the floor (p50, cache off, limited key: quota lease and slot pool)', `+${f(firstAdded)} ms (${f(live?.first.p50)} vs ${f(floorStream?.first.p50)})`, firstAdded <= 1);
  const leased = stream('gateway live (cache off), leased key');
  const leasedAdded = leased?.first.p50 - floorStream?.first.p50;
  line('Streamed first chunk within 1 ms of the floor (p50, cache off, leased key: quota lease)', `+${f(leasedAdded)} ms (${f(leased?.first.p50)} vs ${f(floorStream?.first.p50)})`, leasedAdded <= 1);
  line('A cached stream first chunk no later than a live one (p50)', `${f(replay?.first.p50)} vs ${f(live?.first.p50)} ms`, replay?.first.p50 <= live?.first.p50);
  // What the emulated D1 call log alone does to the floor's tail at 64 connections, for comparison.
  const logged64 = results.bindings?.find((b) => b.binding === 'd1log' && b.connections === 64);
  const floorTail = logged64 ? `; floor + call log alone: ${f(logged64.p99 / logged64.p50, 1)}` : '';
  // Mean latency (connections / req/s) beside the floor's: a skewed distribution at the same mean is not a slower gateway.
  const floor64 = at(64, 'floor');
  for (const row of closed.filter((r) => r.connections === 64 && r.target === 'gateway')) {
    const means = `mean ${f(64000 / row.rps, 1)} ms, floor's ${f(64000 / floor64?.rps, 1)}`;
    line(`64 connections, ${row.name}: p99 <= 5x p50, no client timeouts`, `p99/p50 ${f(row.p99 / row.p50, 1)} (p50 ${f(row.p50)}, p99 ${f(row.p99)} ms; ${means}), ${row.timeouts} timeouts${floorTail}`, row.p99 <= 5 * row.p50 && row.timeouts === 0);
  }
  const limitedRows = closed.filter((r) => r.key === 'limited' || r.key === 'leased');
  const best = limitedRows.reduce((a, b) => (b.rps > (a?.rps ?? -1) ? b : a), undefined);
  line('One limited key sustains >= 1,000 admitted calls/s (best closed-loop row)', `${f(best?.rps, 0)}/s (${best?.name}, ${best?.connections} connections)`, best?.rps >= 1000);
  line(`0 over-admissions (a key limited to ${over.limit}, ${over.sent} calls at 64 connections)`, `${over.overAdmitted} over, ${over.admitted} admitted, ${over.refused} refused, ${over.underAdmitted} under the limit`, over.overAdmitted === 0 && over.admitted <= over.limit);
  line('0 lost log rows (D1 calls rows = calls sent to the gateway)', `${checks.logRows} rows for ${checks.sent} sent (${checks.answered} answered, ${checks.unanswered} with no answer seen)`, checks.lostRows === 0);
  line('Every concurrency slot back after the load (limited key: pools and calls in flight at its object)', `${checks.slotsHeld ?? 'unreachable'} held`, checks.slotsHeld === 0);
  for (const k of checks.keys) {
    line(`Exact limiter count, key ${k.key} (limiter count = admitted log rows; 2xx seen <= that <= 2xx + unanswered)`, `${k.limiterCount ?? 'unreachable'} = ${k.admittedRows}; ${k.clientAdmitted} 2xx + ${k.unanswered} unanswered`, k.exact);
  }
  return lines;
}
