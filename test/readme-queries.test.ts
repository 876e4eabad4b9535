import { beforeAll, describe, expect, inject, it } from 'vitest';
import { testEnv } from './support/gateway';

const queries = inject('readmeQueries');
const find = (text: string) => {
  const query = queries.find((q) => q.includes(text));
  if (!query) throw new Error(`README has no query containing ${text}`);
  return query;
};

// Rows shaped like the gateway's, on a key and model of their own so other tests' rows do not interfere.
beforeAll(async () => {
  const now = Date.now();
  const insert = testEnv.DB.prepare(
    `INSERT INTO calls (request_id, ts, key_id, endpoint, model, provider, upstream_model, stream, status, error_code, stream_cut, latency_ms, ttfb_ms, prompt_tokens, completion_tokens, attempts, cost_usd, limit_status, limited_by)
     VALUES (?1, ?2, 'readme-key', 'chat.completions', 'readme-model', 'readme-provider', 'm', ?3, ?4, ?5, ?6, ?7, ?8, 10, 5, 1, ?9, ?10, ?11)`,
  );
  const rows = Array.from({ length: 100 }, (_, i) =>
    insert.bind(`readme-${i}`, new Date(now - i * 1000).toISOString(), i % 2, 200, null, 0, i + 1, 1, 0.001, 'admitted', null),
  );
  rows.push(insert.bind('readme-error', new Date(now).toISOString(), 1, 502, 'stream_cut', 1, 7, 1, null, 'admitted', null));
  const hit = testEnv.DB.prepare(
    `INSERT INTO calls (request_id, ts, key_id, endpoint, model, status, latency_ms, attempts, cache_status, cost_usd, saved_usd)
     VALUES (?1, ?2, 'readme-cache-key', 'chat.completions', 'readme-cache-model', 200, 1, ?3, ?4, ?5, ?6)`,
  );
  for (let i = 0; i < 4; i++) rows.push(hit.bind(`readme-cache-${i}`, new Date(now).toISOString(), i < 3 ? 0 : 1, i < 3 ? 'HIT' : 'MISS', i < 3 ? 0 : 0.002, i < 3 ? 0.002 : null));
  const attempt = testEnv.DB.prepare(
    `INSERT INTO attempts (request_id, n, ts, provider, model, status, error_code, latency_ms, wait_ms) VALUES (?1, ?2, ?3, ?4, 'm', ?5, ?6, 10, 0)`,
  );
  const at = new Date(now).toISOString();
  rows.push(
    attempt.bind('readme-failover-1', 1, at, 'readme-flaky', 500, 'upstream_failed'),
    attempt.bind('readme-failover-1', 2, at, 'readme-backup', 200, null),
    attempt.bind('readme-failover-2', 1, at, 'readme-flaky', 200, null),
  );
  rows.push(insert.bind('readme-limited', new Date(now).toISOString(), 0, 429, 'rate_limit_exceeded', 0, 1, null, null, 'rejected', 'requests:10s'));
  await testEnv.DB.batch(rows);
});

describe("the README's admin queries", () => {
  it('are all present and run against the real schema', async () => {
    expect(queries.length).toBeGreaterThanOrEqual(5);
    for (const query of queries) {
      const result = await testEnv.DB.prepare(query).all();
      expect(result.success).toBe(true);
    }
  });

  it('compute p50 and p95 latency per model correctly', async () => {
    const { results } = await testEnv.DB.prepare(find('p95_ms')).all<{ model: string; calls: number; p50_ms: number; p95_ms: number }>();
    expect(results.find((r) => r.model === 'readme-model')).toEqual({ model: 'readme-model', calls: 100, p50_ms: 50, p95_ms: 95 });
  });

  it('sum tokens per key per day and list errors and cut streams', async () => {
    const { results } = await testEnv.DB.prepare(find('GROUP BY day, key_id')).all<{ key_id: string; calls: number; prompt_tokens: number }>();
    const mine = results.filter((r) => r.key_id === 'readme-key');
    expect(mine.reduce((n, r) => n + r.calls, 0)).toBe(102);
    expect(mine.reduce((n, r) => n + r.prompt_tokens, 0)).toBe(1020);

    const errors = await testEnv.DB.prepare(find('error_code, stream_cut')).all<{ request_id: string }>();
    expect(errors.results.map((r) => r.request_id)).toContain('readme-error');
  });

  it('compute failover rates per provider', async () => {
    const { results } = await testEnv.DB.prepare(find('served_after_failover')).all<{ provider: string }>();
    expect(results).toContainEqual({ provider: 'readme-flaky', attempts: 2, failed: 1, failed_pct: 50, served_after_failover: 0 });
    expect(results).toContainEqual({ provider: 'readme-backup', attempts: 1, failed: 0, failed_pct: 0, served_after_failover: 1 });
  });

  it('compute the cache hit ratio and savings per key', async () => {
    const { results } = await testEnv.DB.prepare(find('hit_pct')).all<{ key_id: string; cacheable: number; hits: number; hit_pct: number; saved_usd: number }>();
    expect(results.find((r) => r.key_id === 'readme-cache-key')).toEqual({ key_id: 'readme-cache-key', cacheable: 4, hits: 3, hit_pct: 75, saved_usd: 0.006 });
  });

  it('sum spend per key per day and list who hit which limit', async () => {
    const spend = await testEnv.DB.prepare(find('spent_usd')).all<{ key_id: string; spent_usd: number }>();
    const mine = spend.results.filter((r) => r.key_id === 'readme-key');
    expect(mine.reduce((n, r) => n + r.spent_usd, 0)).toBeCloseTo(0.1, 9);

    const limited = await testEnv.DB.prepare(find("limit_status = 'rejected'")).all<{ key_id: string; limited_by: string; refused: number }>();
    expect(limited.results).toContainEqual(expect.objectContaining({ key_id: 'readme-key', limited_by: 'requests:10s', refused: 1 }));
  });
});
