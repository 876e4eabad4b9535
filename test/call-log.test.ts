import { describe, expect, it } from 'vitest';
import { KEYS } from './support/constants';
import { inWorker, logRow, postJson, rowCount, testEnv } from './support/gateway';

const body = { model: 'gpt-test', messages: [{ role: 'user', content: 'count me' }] };

describe('the D1 call log', () => {
  it('writes exactly one row per call when many calls arrive together (batched)', async () => {
    const responses = await Promise.all(Array.from({ length: 60 }, () => postJson('/v1/chat/completions', body)));
    const ids = responses.map((r) => r.headers.get('x-request-id')!);
    expect(new Set(ids).size).toBe(60);
    await Promise.all(responses.map((r) => r.text()));
    for (const id of ids) await logRow(id);
    const counts = await Promise.all(ids.map(rowCount));
    expect(counts.every((n) => n === 1)).toBe(true);
  });

  it('writes rows from concurrent calls together, in few D1 batches', async () => {
    const batches: number[] = [];
    const db = testEnv.DB;
    const countingDb = {
      prepare: (sql: string) => db.prepare(sql),
      batch: (statements: D1PreparedStatement[]) => {
        batches.push(statements.length);
        return db.batch(statements);
      },
    } as unknown as D1Database;
    const responses = await inWorker({ DB: countingDb }, (fetch) =>
      Promise.all(Array.from({ length: 20 }, async () => {
        const res = await fetch(
          new Request('http://gateway.test/v1/chat/completions', {
            method: 'POST',
            headers: { authorization: `Bearer ${KEYS.teamA}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          }),
        );
        await res.text();
        return res;
      })),
    );
    // A batch is two statements whatever its size: its call rows, and their attempts.
    expect(batches.length).toBeLessThanOrEqual(4);
    expect(batches.every((statements) => statements === 2)).toBe(true);
    for (const r of responses) {
      const id = r.headers.get('x-request-id')!;
      expect(await rowCount(id)).toBe(1);
      const attempts = await testEnv.DB.prepare('SELECT n, provider, status FROM attempts WHERE request_id = ?').bind(id).all();
      expect(attempts.results).toEqual([{ n: 1, provider: 'openai', status: 200 }]);
    }
  });

  it('logs rejected calls too', async () => {
    const unauthenticated = await postJson('/v1/chat/completions', body, null);
    expect(await logRow(unauthenticated.headers.get('x-request-id')!)).toMatchObject({ status: 401, key_id: null, error_code: 'missing_api_key' });
    const unknownRoute = await postJson('/v1/nowhere', body);
    expect(await logRow(unknownRoute.headers.get('x-request-id')!)).toMatchObject({ status: 404, key_id: 'team-a', error_code: 'unknown_url' });
  });

  it('never fails a call when D1 fails, and reports the lost rows', async () => {
    const brokenDb = {
      prepare: () => ({ bind: () => ({}) }),
      batch: async () => {
        throw new Error('D1 is down');
      },
    } as unknown as D1Database;
    const errors: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args.join(' '));
    try {
      const res = await inWorker({ DB: brokenDb }, async (fetch) => {
        const answer = await fetch(
          new Request('http://gateway.test/v1/chat/completions', {
            method: 'POST',
            headers: { authorization: `Bearer ${KEYS.teamA}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          }),
        );
        await answer.text();
        return answer;
      });
      expect(res.status).toBe(200);
    } finally {
      console.error = original;
    }
    expect(errors.some((line) => line.includes('call log: lost') && line.includes('D1 is down'))).toBe(true);
  });

  it('is idempotent on the request id', async () => {
    const res = await postJson('/v1/chat/completions', body);
    const id = res.headers.get('x-request-id')!;
    const row = await logRow(id);
    await testEnv.DB.prepare('INSERT OR IGNORE INTO calls (request_id, ts, endpoint, status, latency_ms) VALUES (?, ?, ?, ?, ?)')
      .bind(id, row.ts, 'x', 500, 1)
      .run();
    expect(await rowCount(id)).toBe(1);
    expect((await logRow(id)).status).toBe(200);
  });
});
