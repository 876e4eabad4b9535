import { createScheduledController } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import worker from '../src/index';
import { DAY_MS, runMaintenance } from '../src/logging/maintenance';
import { rollHour } from '../src/logging/rollup';
import {
  addHistograms,
  type CallHourRow,
  histogramPercentile,
  HOUR_MS,
  hourStart,
  latencyBucket,
  statusClass,
} from '../src/logging/rollup-shape';
import { testEnv } from './support/gateway';

// The clock is injected: every instant here is in January 2001, far from the rows real calls write.
const at = (iso: string) => Date.parse(iso);
const H1 = '2001-01-10T10:00:00.000Z';
const H2 = '2001-01-10T11:00:00.000Z';
/** 12:30: with the default deadline (10 min) plus a minute, hours before 12:00 are finished. */
const NOW = at('2001-01-10T12:30:00.000Z');

interface Call {
  id: string;
  ts: string;
  key?: string | null;
  model?: string | null;
  provider?: string | null;
  status?: number;
  error?: string | null;
  cut?: 0 | 1;
  latency?: number;
  ttfb?: number | null;
  prompt?: number | null;
  completion?: number | null;
  cache?: string | null;
  cost?: number | null;
  saved?: number | null;
  attempts?: number;
}

async function insert(calls: Call[]): Promise<void> {
  const call = testEnv.DB.prepare(
    `INSERT INTO calls (request_id, ts, key_id, endpoint, model, provider, status, error_code, stream_cut, latency_ms, ttfb_ms,
       prompt_tokens, completion_tokens, attempts, cache_status, cost_usd, saved_usd)
     VALUES (?1, ?2, ?3, 'chat.completions', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)`,
  );
  const attempt = testEnv.DB.prepare(
    `INSERT INTO attempts (request_id, n, ts, provider, model, status, latency_ms) VALUES (?1, ?2, ?3, 'p', 'm', 200, 1)`,
  );
  const statements: D1PreparedStatement[] = [];
  for (const c of calls) {
    statements.push(
      call.bind(c.id, c.ts, c.key === undefined ? 'k1' : c.key, c.model === undefined ? 'm1' : c.model, c.provider === undefined ? 'p1' : c.provider,
        c.status ?? 200, c.error ?? null, c.cut ?? 0, c.latency ?? 10, c.ttfb ?? null, c.prompt ?? null, c.completion ?? null,
        c.attempts ?? 1, c.cache ?? null, c.cost ?? null, c.saved ?? null),
    );
    for (let n = 1; n <= (c.attempts ?? 1); n++) statements.push(attempt.bind(c.id, n, c.ts));
  }
  for (let i = 0; i < statements.length; i += 500) await testEnv.DB.batch(statements.slice(i, i + 500));
}

async function rollups(): Promise<CallHourRow[]> {
  const { results } = await testEnv.DB.prepare(
    'SELECT * FROM call_hours ORDER BY hour, key_id, model, provider, status_class, cache_status',
  ).all<CallHourRow>();
  return results;
}

async function count(sql: string): Promise<number> {
  return (await testEnv.DB.prepare(sql).first<{ n: number }>())!.n;
}

const row = (fields: Partial<CallHourRow> & { hist: number[] }): CallHourRow => {
  const { hist, ...rest } = fields;
  return {
    hour: H1, key_id: 'k1', model: 'm1', provider: 'p1', status_class: '2xx', cache_status: '', calls: 1, errors: 0, stream_cuts: 0,
    prompt_tokens: 0, completion_tokens: 0, cost_usd: 0, saved_usd: 0, latency_ms_sum: 0, ttfb_ms_sum: 0, ttfb_count: 0,
    ...rest, latency_hist: JSON.stringify(hist),
  };
};

/** A known hour of calls: one of every kind the rollup tells apart. */
const KNOWN: Call[] = [
  { id: 'a', ts: '2001-01-10T10:00:00.000Z', latency: 40, ttfb: 10, prompt: 10, completion: 5, cost: 0.001 },
  { id: 'b', ts: '2001-01-10T10:10:00.000Z', latency: 120, prompt: 20, completion: 10, cost: 0.002 },
  { id: 'c', ts: '2001-01-10T10:20:00.000Z', latency: 35_000, ttfb: 30, prompt: 3, completion: 4, error: 'stream_cut', cut: 1 },
  { id: 'd', ts: '2001-01-10T10:30:00.000Z', latency: 600, status: 502, error: 'upstream_failed', attempts: 2 },
  { id: 'e', ts: '2001-01-10T10:40:00.000Z', latency: 2500, status: 499, error: 'client_closed', cut: 1, ttfb: 100, prompt: 7, completion: 0, cost: 0.0007 },
  { id: 'f', ts: '2001-01-10T10:41:00.000Z', latency: 1, status: 401, error: 'missing_api_key', key: null, model: null, provider: null, attempts: 0 },
  { id: 'g', ts: '2001-01-10T10:42:00.000Z', latency: 50, cache: 'HIT', prompt: 9, completion: 9, cost: 0, saved: 0.003, attempts: 0 },
  { id: 'h', ts: '2001-01-10T10:59:59.999Z', latency: 51, ttfb: 20, prompt: 1, completion: 1, cost: 0.0005 },
  { id: 'i', ts: '2001-01-10T10:50:00.000Z', latency: 5000, status: 302 },
  { id: 'j', ts: '2001-01-10T11:00:00.000Z', latency: 10_000, key: 'k2', model: 'm2', provider: 'p2', cache: 'MISS', prompt: 2, completion: 3, cost: 0.01 },
  // 12:20 is in an hour still open at NOW.
  { id: 'k', ts: '2001-01-10T12:20:00.000Z' },
];

const KNOWN_ROLLUPS: CallHourRow[] = [
  row({ key_id: '', model: '', provider: '', status_class: '4xx', errors: 1, latency_ms_sum: 1, hist: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0] }),
  row({
    calls: 4, errors: 1, stream_cuts: 1, prompt_tokens: 34, completion_tokens: 20, cost_usd: 0.0035, latency_ms_sum: 35_211,
    ttfb_ms_sum: 60, ttfb_count: 3, hist: [1, 1, 1, 0, 0, 0, 0, 0, 0, 1],
  }),
  row({ cache_status: 'HIT', prompt_tokens: 9, completion_tokens: 9, saved_usd: 0.003, latency_ms_sum: 50, hist: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0] }),
  row({
    status_class: '499', errors: 1, stream_cuts: 1, prompt_tokens: 7, cost_usd: 0.0007, latency_ms_sum: 2500, ttfb_ms_sum: 100, ttfb_count: 1,
    hist: [0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
  }),
  row({ status_class: '5xx', errors: 1, latency_ms_sum: 600, hist: [0, 0, 0, 0, 1, 0, 0, 0, 0, 0] }),
  row({ status_class: 'other', latency_ms_sum: 5000, hist: [0, 0, 0, 0, 0, 0, 1, 0, 0, 0] }),
  row({
    hour: H2, key_id: 'k2', model: 'm2', provider: 'p2', cache_status: 'MISS', prompt_tokens: 2, completion_tokens: 3, cost_usd: 0.01,
    latency_ms_sum: 10_000, hist: [0, 0, 0, 0, 0, 0, 0, 1, 0, 0],
  }),
];

beforeEach(async () => {
  await testEnv.DB.batch(['calls', 'attempts', 'call_hours'].map((table) => testEnv.DB.prepare(`DELETE FROM ${table}`)));
  const listed = await testEnv.PAYLOADS!.list();
  if (listed.objects.length > 0) await testEnv.PAYLOADS!.delete(listed.objects.map((o) => o.key));
});

describe('hourly rollups', () => {
  it('roll each finished hour into call_hours, with numbers equal to its calls', async () => {
    await insert(KNOWN);
    const report = await runMaintenance(testEnv, NOW);
    expect(report).toMatchObject({ rolledHours: [H1, H2], rolledThrough: '2001-01-10T12:00:00.000Z', deletedCalls: 0, done: true });
    const rows = await rollups();
    expect(rows.map(({ cost_usd, saved_usd, ...rest }) => ({ ...rest, cost_usd: round(cost_usd), saved_usd: round(saved_usd) }))).toEqual(KNOWN_ROLLUPS);
    // The open hour's call is not rolled; every raw row stays (all are inside the retention window).
    expect(await count("SELECT COUNT(*) AS n FROM call_hours WHERE hour = '2001-01-10T12:00:00.000Z'")).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM calls')).toBe(KNOWN.length);
  });

  it('are idempotent: a second run, a re-roll of an hour, or a rebuild from scratch give the same rows', async () => {
    await insert(KNOWN);
    await runMaintenance(testEnv, NOW);
    const first = await rollups();
    expect((await runMaintenance(testEnv, NOW)).rolledHours).toEqual([]);
    await rollHour(testEnv.DB, H1);
    await rollHour(testEnv.DB, H1);
    expect(await rollups()).toEqual(first);
    await testEnv.DB.prepare('DELETE FROM call_hours').run();
    expect((await runMaintenance(testEnv, NOW)).rolledHours).toEqual([H1, H2]);
    expect(await rollups()).toEqual(first);
  });

  it('wait for an hour to finish (the call deadline plus a minute past its end), then roll it in a later run', async () => {
    await insert([{ id: 'late', ts: '2001-01-10T11:59:00.000Z', latency: 300 }]);
    // 12:10:59.999 is 10 min 59.999 s past the hour: a call that started at 11:59 may still be running.
    expect((await runMaintenance(testEnv, at('2001-01-10T12:10:59.999Z'))).rolledHours).toEqual([]);
    expect((await runMaintenance(testEnv, at('2001-01-10T12:11:00.000Z'))).rolledHours).toEqual(['2001-01-10T11:00:00.000Z']);
  });

  it('jump over idle hours, and catch up a backlog over several runs', async () => {
    const hours = ['2001-01-01T03:00:00.000Z', '2001-01-05T17:00:00.000Z', '2001-01-09T23:00:00.000Z'];
    await insert(hours.map((hour, i) => ({ id: `gap-${i}`, ts: hour.replace(':00:00.000Z', ':30:00.000Z') })));
    const first = await runMaintenance(testEnv, NOW, { maxHours: 2 });
    expect(first).toMatchObject({ rolledHours: hours.slice(0, 2), rolledThrough: '2001-01-05T18:00:00.000Z', done: false });
    const second = await runMaintenance(testEnv, NOW, { maxHours: 2 });
    expect(second).toMatchObject({ rolledHours: hours.slice(2), rolledThrough: '2001-01-10T12:00:00.000Z', done: true });
    expect((await rollups()).map((r) => r.hour)).toEqual(hours);
  });
});

describe('retention', () => {
  const RETENTION = 30 * DAY_MS;

  it('deletes raw calls and their attempts older than log.retention_days, and nothing inside the window', async () => {
    const cutoff = NOW - RETENTION;
    await insert([
      { id: 'old', ts: new Date(cutoff - 1).toISOString(), attempts: 2 },
      { id: 'edge', ts: new Date(cutoff).toISOString(), attempts: 2 },
      { id: 'young', ts: new Date(cutoff + 1).toISOString() },
    ]);
    const report = await runMaintenance(testEnv, NOW);
    expect(report).toMatchObject({ deletedBefore: new Date(cutoff).toISOString(), deletedCalls: 1, deletedAttempts: 2, done: true });
    const left = await testEnv.DB.prepare('SELECT request_id FROM calls ORDER BY ts').all();
    expect(left.results.map((r) => r.request_id)).toEqual(['edge', 'young']);
    expect(await count("SELECT COUNT(*) AS n FROM attempts WHERE request_id = 'edge'")).toBe(2);
    expect(await count("SELECT COUNT(*) AS n FROM attempts WHERE request_id = 'old'")).toBe(0);
    // The deleted call stays counted in its hour's rollup.
    expect(await count('SELECT SUM(calls) AS n FROM call_hours')).toBe(3);
  });

  it('deletes in bounded batches, oldest first, and continues in the next run', async () => {
    const old = Array.from({ length: 120 }, (_, i) => ({ id: `old-${String(i).padStart(3, '0')}`, ts: new Date(NOW - RETENTION - (120 - i) * 60_000).toISOString(), attempts: 1 + (i % 2) }));
    const recent = Array.from({ length: 10 }, (_, i) => ({ id: `new-${i}`, ts: new Date(NOW - i * 3_600_000).toISOString(), attempts: 2 }));
    await insert([...old, ...recent]);
    const bounds = { batchRows: 25, maxBatches: 2 };

    const first = await runMaintenance(testEnv, NOW, bounds);
    expect(first).toMatchObject({ deletedCalls: 50, deletedAttempts: old.slice(0, 50).reduce((n, c) => n + c.attempts, 0), done: false });
    const oldest = await testEnv.DB.prepare('SELECT request_id FROM calls ORDER BY ts LIMIT 1').first<{ request_id: string }>();
    expect(oldest!.request_id).toBe('old-050');

    expect(await runMaintenance(testEnv, NOW, bounds)).toMatchObject({ deletedCalls: 50, done: false });
    expect(await runMaintenance(testEnv, NOW, bounds)).toMatchObject({ deletedCalls: 20, deletedAttempts: old.slice(100).reduce((n, c) => n + c.attempts, 0), done: true });
    expect(await count("SELECT COUNT(*) AS n FROM calls WHERE request_id LIKE 'old-%'")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM attempts WHERE request_id LIKE 'old-%'")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM calls WHERE request_id LIKE 'new-%'")).toBe(10);
    expect(await count("SELECT COUNT(*) AS n FROM attempts WHERE request_id LIKE 'new-%'")).toBe(20);
  });

  it('never deletes calls of an hour not rolled yet, however old', async () => {
    const hours = ['2000-11-01T01:00:00.000Z', '2000-11-01T02:00:00.000Z', '2000-11-01T03:00:00.000Z'];
    await insert(hours.map((hour, i) => ({ id: `unrolled-${i}`, ts: hour })));
    const report = await runMaintenance(testEnv, NOW, { maxHours: 1 });
    expect(report).toMatchObject({ rolledHours: [hours[0]], deletedBefore: hours[1], deletedCalls: 1, done: false });
    expect(await count('SELECT COUNT(*) AS n FROM calls')).toBe(2);
    expect(await runMaintenance(testEnv, NOW)).toMatchObject({ rolledHours: hours.slice(1), deletedCalls: 2, done: true });
  });

  it('deletes payload objects of whole UTC days before the window, and nothing else in the bucket', async () => {
    const bucket = testEnv.PAYLOADS!;
    // NOW - 30 days is 2000-12-11T12:30Z: that day is partly inside the window, so it is kept whole.
    const keys = ['2000-12-09/req_a.json', '2000-12-10/req_b.json', '2000-12-10/req_c.json', '2000-12-11/req_d.json', '2001-01-10/req_e.json', 'notes/keep.txt'];
    await Promise.all(keys.map((key) => bucket.put(key, '{}')));
    const report = await runMaintenance(testEnv, NOW);
    expect(report).toMatchObject({ payloadsDeletedBefore: '2000-12-11', deletedPayloads: 3, done: true });
    expect((await bucket.list()).objects.map((o) => o.key)).toEqual(keys.slice(3));
  });

  it('deletes payload objects a page a round, a bounded number of rounds a run', async () => {
    const bucket = testEnv.PAYLOADS!;
    const keys = Array.from({ length: 25 }, (_, i) => `2000-01-0${1 + (i % 3)}/req_${String(i).padStart(2, '0')}.json`);
    await Promise.all([...keys, '2001-01-10/req_today.json'].map((key) => bucket.put(key, '{}')));
    const bounds = { payloadPage: 10, maxPayloadRounds: 2 };
    expect(await runMaintenance(testEnv, NOW, bounds)).toMatchObject({ deletedPayloads: 20, done: false });
    expect(await runMaintenance(testEnv, NOW, bounds)).toMatchObject({ deletedPayloads: 5, done: true });
    expect((await bucket.list()).objects.map((o) => o.key)).toEqual(['2001-01-10/req_today.json']);
  });
});

describe('the cron trigger', () => {
  it('runs the same maintenance at its scheduled time', async () => {
    await insert([...KNOWN, { id: 'ancient', ts: '2000-06-01T00:00:00.000Z' }]);
    const logs: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => logs.push(args.join(' '));
    try {
      await worker.scheduled(createScheduledController({ scheduledTime: NOW, cron: '*/15 * * * *' }), testEnv);
    } finally {
      console.log = original;
    }
    expect((await rollups()).filter((r) => r.hour !== '2000-06-01T00:00:00.000Z').length).toBe(KNOWN_ROLLUPS.length);
    expect(await count("SELECT COUNT(*) AS n FROM calls WHERE request_id = 'ancient'")).toBe(0);
    expect(logs).toEqual([expect.stringMatching(/^maintenance: \{"now":"2001-01-10T12:30:00.000Z","rolledHours":\["2000-06-01T00:00:00.000Z",/)]);
  });
});

describe('the rollup shape', () => {
  it('classes statuses and buckets latencies as the SQL does', () => {
    expect([200, 204, 302, 400, 429, 499, 500, 504, 0].map(statusClass)).toEqual(['2xx', '2xx', 'other', '4xx', '4xx', '499', '5xx', '5xx', 'other']);
    expect([0, 50, 51, 100, 30_000, 30_001].map(latencyBucket)).toEqual([0, 0, 1, 1, 8, 9]);
    expect(hourStart(at('2001-01-10T10:59:59.999Z'))).toBe(H1);
    expect(at(H2) - at(H1)).toBe(HOUR_MS);
  });

  it('reads percentiles off a histogram', () => {
    const hist = addHistograms([[1, 1, 1, 0, 0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]]);
    expect(hist).toEqual([2, 1, 1, 0, 0, 0, 0, 0, 0, 1]);
    expect(histogramPercentile(hist, 0.5)).toBe(100);
    expect(histogramPercentile(hist, 0.95)).toBe(30_000);
    expect(histogramPercentile(new Array(10).fill(0), 0.5)).toBeNull();
  });
});

const round = (usd: number) => Math.round(usd * 1e9) / 1e9;
