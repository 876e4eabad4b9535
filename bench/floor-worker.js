// The floor: a Worker that forwards each request to the upstream and returns its
// response as is (a stream stays a stream). Same Miniflare setup and bindings as the
// gateway (D1, KV, a SQLite Durable Object); the plain floor uses none of them.
// UPSTREAM is the upstream's base URL, e.g. http://127.0.0.1:N/v1.
//
// With `x-bench-binding`, it first pays for one emulated binding, to measure what that
// costs alone: `kv` one KV read, `kvput` one KV write of a new 1 KiB entry in
// waitUntil (what a cache miss stores), `do` one Durable Object call that writes SQLite (as a
// limiter admission does), `do2` two such calls one after the other (admit + settle).
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

export default {
  async fetch(request, env, ctx) {
    const binding = request.headers.get('x-bench-binding');
    if (binding === 'kv') await env.CACHE.get('bench-absent-key');
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
