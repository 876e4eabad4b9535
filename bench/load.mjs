// Load generators. Closed and open loop: autocannon (programmatic API); its own
// histograms keep whole milliseconds, so latencies are taken from its per-response
// event (float ms) and percentiles computed here. Streams: a small client of our own
// that times the first body chunk and the whole response, one call at a time.
import autocannon from 'autocannon';
import { request as httpRequest, Agent } from 'node:http';

export const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : NaN);

function summary(times) {
  const sorted = [...times].sort((a, b) => a - b);
  return { p50: pct(sorted, 0.5), p99: pct(sorted, 0.99), max: sorted.length ? sorted[sorted.length - 1] : NaN };
}

/**
 * One autocannon run against target (url + headers) with body(i) per request.
 * Closed loop: each of `connections` sends its next request when the previous is answered.
 * Runs end after `amount` responses, so that no request is left in flight (a timed
 * autocannon run drops the connections it has requests on); the caller sizes `amount`
 * from a measured rate to last about the wanted seconds. Stopped anyway after `limitS`.
 */
export async function run(target, { path = '/v1/chat/completions', body, headers = {}, connections, amount, limitS = 60 }) {
  let i = 0;
  const times = [];
  const statuses = {};
  const cpu0 = target.cpu.total();
  const t0 = performance.now();
  const instance = autocannon({
    url: target.url,
    connections,
    amount,
    timeout: 10,
    requests: [{
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json', ...target.headers, ...headers },
      setupRequest: (req) => ({ ...req, body: body(i++) }),
    }],
  });
  let tLast = t0;
  instance.on('response', (_client, status, _bytes, ms) => {
    tLast = performance.now();
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status >= 200 && status < 300) times.push(ms);
  });
  const guard = setTimeout(() => instance.stop(), limitS * 1000);
  const result = await new Promise((resolve, reject) => {
    instance.on('done', resolve);
    instance.on('error', reject);
  }).finally(() => clearTimeout(guard));
  // autocannon notices `amount` on its 1 s sample tick: time to the last response instead.
  const wall = (tLast - t0) / 1000;
  const cpuMs = target.cpu.total() - cpu0;
  const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
  const ok = times.length;
  return {
    connections,
    seconds: Number(wall.toFixed(2)),
    sent: result.requests.sent,
    answered,
    ok,
    statuses,
    rps: ok / wall,
    ...summary(times),
    errors: result.errors + (answered - ok),
    timeouts: result.timeouts,
    cpuMsPerReq: answered ? cpuMs / answered : NaN,
  };
}

/** One POST over `agent`: status, time to the first body chunk with a data event, total, body. */
function post(agent, url, headers, payload) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = httpRequest(url, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
    }, (res) => {
      let firstMs;
      let n = 0;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        n++;
        text += d;
        if (firstMs === undefined && text.includes('data:')) firstMs = performance.now() - t0;
      });
      res.on('end', () => resolve({ status: res.statusCode, firstMs, totalMs: performance.now() - t0, n, text }));
    });
    req.on('error', (e) => resolve({ status: 0, text: String(e), totalMs: performance.now() - t0 }));
    req.end(payload);
  });
}

/**
 * Open loop: request i is sent at start + i / rate whatever the answers so far (up to
 * `connections` keep-alive sockets; a request waiting for a socket waits in the timing).
 * Our own small client: autocannon's overallRate paces each connection (closed loop
 * underneath) and sends past `amount`, which would blur the call-log check.
 * One slice of `count` requests; the caller interleaves slices of several rows (so that
 * the machine's drift hits them all alike) and merges them with openSummary().
 */
export async function openLoop(target, { path = '/v1/chat/completions', body, headers = {}, rate, count, offset = 0, connections = 16 }) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const url = new URL(path, target.url);
  const statuses = {};
  const times = [];
  const cpu0 = target.cpu.total();
  const t0 = performance.now();
  const pending = [];
  for (let i = 0; i < count; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(post(agent, url, { ...target.headers, ...headers }, body(offset + i)).then((r) => {
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status >= 200 && r.status < 300) times.push(r.totalMs);
    }));
  }
  await Promise.all(pending);
  agent.destroy();
  return { connections, rate, count, statuses, times, wall: (performance.now() - t0) / 1000, cpuMs: target.cpu.total() - cpu0 };
}

/** One row from its open-loop slices. */
export function openSummary(slices) {
  const statuses = {};
  for (const sl of slices) for (const [k, v] of Object.entries(sl.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  const times = slices.flatMap((sl) => sl.times);
  const sent = slices.reduce((a, sl) => a + sl.count, 0);
  const wall = slices.reduce((a, sl) => a + sl.wall, 0);
  const answered = Object.entries(statuses).filter(([k]) => k !== '0').reduce((a, [, v]) => a + v, 0);
  return {
    connections: slices[0].connections, rate: slices[0].rate, seconds: Number(wall.toFixed(2)), sent, answered, ok: times.length, statuses,
    rps: times.length / wall, ...summary(times), errors: sent - times.length, timeouts: 0,
    cpuMsPerReq: answered ? slices.reduce((a, sl) => a + sl.cpuMs, 0) / answered : NaN,
  };
}

/**
 * Streams, one at a time, each row on its own keep-alive connection, the rows taking
 * turns call by call (drift hits them alike): time to the first body chunk holding a data
 * event, time to the end, and how many network chunks and SSE events came.
 * rows: [{ target, body, headers }]; a row that fails stops, with its `failure`.
 */
export async function streamRows(rows, { path = '/v1/chat/completions', count }) {
  const state = rows.map((row) => ({
    ...row, agent: new Agent({ keepAlive: true, maxSockets: 1 }), url: new URL(path, row.target.url),
    first: [], total: [], chunks: 0, events: 0, failure: undefined, cpuMs: 0,
  }));
  for (let i = 0; i < count; i++) {
    for (const st of state) {
      if (st.failure) continue;
      const cpu0 = st.target.cpu.total();
      const out = await post(st.agent, st.url, { ...st.target.headers, ...st.headers }, st.body(i));
      st.cpuMs += st.target.cpu.total() - cpu0;
      if (out.status !== 200 || !out.text.includes('[DONE]')) {
        st.failure = `status ${out.status}: ${out.text.slice(0, 200)}`;
        continue;
      }
      st.first.push(out.firstMs);
      st.total.push(out.totalMs);
      st.chunks += out.n;
      st.events += out.text.split('\n\n').filter((e) => e.startsWith('data:')).length;
    }
  }
  return state.map((st) => {
    st.agent.destroy();
    const n = st.first.length;
    const f = summary(st.first);
    const t = summary(st.total);
    return {
      count: n, failure: st.failure,
      first: { p50: f.p50, p99: f.p99, max: f.max },
      total: { p50: t.p50, p99: t.p99, max: t.max },
      chunksPerStream: n ? st.chunks / n : NaN,
      eventsPerStream: n ? st.events / n : NaN,
      cpuMsPerReq: n ? st.cpuMs / n : NaN,
    };
  });
}
