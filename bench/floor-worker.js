// The floor: a Worker that forwards each request to the upstream and returns its
// response as is (a stream stays a stream). Same Miniflare setup and bindings as the
// gateway (D1, KV, a SQLite Durable Object); the plain floor uses none of them.
// UPSTREAM is the upstream's base URL, e.g. http://127.0.0.1:N/v1.
//
// With `x-bench-binding`, it first pays for one emulated binding, to measure what that
// costs alone: `kv` one KV read, `kvput` one KV write of a new 1 KiB entry in
// waitUntil (what a cache miss stores), `do` one Durable Object call that writes SQLite (as a
// limiter admission does), `do2` two such calls one after the other (admit + settle),
// `d1log` one row for a call log like the gateway's (src/logging/call-log.ts): queued,
// and written in waitUntil as one INSERT … SELECT FROM json_each per 50 rows or 10 ms,
// into a table indexed like the gateway's `calls`.
import { DurableObject } from 'cloudflare:workers';

export class Counter extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS n (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  }

  bump() {
    this.ctx.storage.sql.exec("INSERT INTO n VALUES ('k', 1) ON CONFLICT (k) DO UPDATE SET v = v + 1");
    return true;
  }
}

const ENTRY = 'x'.repeat(1024);

// About the size of a gateway call row.
const ROW = 'r'.repeat(400);
const LOG_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS calls (request_id TEXT PRIMARY KEY, ts TEXT NOT NULL, key_id TEXT, model TEXT, status INTEGER, data TEXT)',
  'CREATE INDEX IF NOT EXISTS calls_by_ts ON calls (ts)',
  'CREATE INDEX IF NOT EXISTS calls_by_key_ts ON calls (key_id, ts)',
  'CREATE INDEX IF NOT EXISTS calls_by_model_ts ON calls (model, ts)',
  'CREATE INDEX IF NOT EXISTS calls_errors_by_ts ON calls (ts) WHERE status >= 400',
];
let schema;
let pending = [];
let scheduled = false;

function logRow(env, ctx) {
  pending.push([`req_${crypto.randomUUID()}`, new Date().toISOString(), 'bench', 'm', 200, ROW]);
  if (pending.length >= 50) ctx.waitUntil(flush(env));
  else if (!scheduled) {
    scheduled = true;
    ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 10)).then(() => {
      scheduled = false;
      return flush(env);
    }));
  }
}

async function flush(env) {
  const rows = pending;
  pending = [];
  if (rows.length === 0) return;
  schema ??= env.DB.batch(LOG_SCHEMA.map((sql) => env.DB.prepare(sql)));
  await schema;
  await env.DB.prepare(
    'INSERT OR IGNORE INTO calls (request_id, ts, key_id, model, status, data) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 FROM json_each(?1)',
  ).bind(JSON.stringify(rows)).run();
}

export default {
  async fetch(request, env, ctx) {
    const binding = request.headers.get('x-bench-binding');
    if (binding === 'kv') await env.CACHE.get('bench-absent-key');
    if (binding === 'd1log') logRow(env, ctx);
    if (binding === 'kvput') ctx.waitUntil(env.CACHE.put(`bench-${crypto.randomUUID()}`, ENTRY, { expirationTtl: 3600 }));
    if (binding === 'do' || binding === 'do2') {
      const stub = env.COUNTER.get(env.COUNTER.idFromName('one'));
      await stub.bump();
      if (binding === 'do2') await stub.bump();
    }
    const url = new URL(request.url);
    const target = env.UPSTREAM + url.pathname.replace(/^\/v1/, '') + url.search;
    return fetch(target, { method: request.method, headers: request.headers, body: request.body });
  },
};
