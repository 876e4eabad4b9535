import { createExecutionContext, waitOnExecutionContext, type D1Migration } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import OpenAI from 'openai';
import type { Env } from '../../src/env';
import gatewayWorker from '../../src/index';
import { KEYS } from './constants';

/** Helpers for driving the real Worker (its default export) inside workerd. */

export interface TestEnv extends Env {
  TEST_MIGRATIONS: D1Migration[];
  UPSTREAM_ORIGIN: string;
}

export const testEnv = env as unknown as TestEnv;
const worker = (exports as unknown as { default: Fetcher }).default;

export const BASE = 'http://gateway.test';

/**
 * Each request comes from its own client IP unless the test names one, so the
 * brute-force guard (failed auth per IP) only trips where a test means it to.
 */
function fromSomeClient(request: Request): Request {
  if (!request.headers.has('cf-connecting-ip')) {
    request.headers.set('cf-connecting-ip', `198.51.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`);
  }
  return request;
}

export function gateway(path: string, init?: RequestInit): Promise<Response> {
  return worker.fetch(fromSomeClient(new Request(BASE + path, init)));
}

export function postJson(path: string, body: unknown, key: string | null = KEYS.teamA, headers: Record<string, string> = {}) {
  return gateway(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/**
 * Calls straight into the Worker's fetch handler (same isolate), with parts of the
 * env replaced (a broken binding, another config), sharing one execution context:
 * resolves once `run` is done and every call's background work (log, settlement)
 * with it. `quiet` silences the gateway's console.error reports meanwhile. This is
 * the way to test failures of what the runtime provides, and behaviour under
 * concurrency (the loopback of `exports` costs milliseconds per request and would
 * spread 200 "concurrent" calls over seconds).
 */
export async function inWorker<T>(
  envPatch: Record<string, unknown>,
  run: (fetch: (request: Request) => Promise<Response>) => Promise<T>,
  { quiet = false }: { quiet?: boolean } = {},
): Promise<T> {
  const ctx = createExecutionContext();
  const env = { ...testEnv, ...envPatch } as TestEnv;
  const errors = console.error;
  if (quiet) console.error = () => {};
  try {
    const result = await run(async (request) => gatewayWorker.fetch(fromSomeClient(request), env, ctx));
    await waitOnExecutionContext(ctx);
    return result;
  } finally {
    console.error = errors;
  }
}

function post(path: string, body: unknown, key: string, headers: Record<string, string> = {}): Request {
  return new Request(BASE + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** `count` calls at once into one isolate; resolves once their background work is done too. */
export function concurrentPosts(count: number, path: string, body: unknown, key: string): Promise<{ status: number; body: string }[]> {
  return inWorker({}, (fetch) =>
    Promise.all(Array.from({ length: count }, async () => {
      const r = await fetch(post(path, body, key));
      return { status: r.status, body: await r.text() };
    })),
  );
}

/** One POST with parts of the env replaced, the gateway's console.error reports silenced. */
export function postWithEnv(
  path: string,
  body: unknown,
  envPatch: Record<string, unknown>,
  key: string = KEYS.teamA,
  headers: Record<string, string> = {},
): Promise<{ res: Response; text: string }> {
  return inWorker(envPatch, async (fetch) => {
    const res = await fetch(post(path, body, key, headers));
    return { res, text: await res.text() };
  }, { quiet: true });
}

/** The official openai client, pointed at the gateway. No retries: tests see every answer. */
export function client(key: string = KEYS.teamA): OpenAI {
  return new OpenAI({
    apiKey: key,
    baseURL: `${BASE}/v1`,
    maxRetries: 0,
    fetch: (input, init) => worker.fetch(fromSomeClient(new Request(input as RequestInfo, init as RequestInit))),
  });
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  /** The gateway hung up before the upstream finished (abort, timeout). */
  closedEarly: boolean;
}

/** Waits until the upstream has seen the gateway hang up on request `requestId`. */
export async function upstreamSawHangUp(requestId: string, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const seen = await upstreamSaw(requestId);
    if (seen.length > 0 && seen.every((r) => r.closedEarly)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/** What the fixture upstream received for one gateway request id. */
export async function upstreamSaw(requestId: string): Promise<RecordedRequest[]> {
  const response = await fetch(`${testEnv.UPSTREAM_ORIGIN}/__requests/${requestId}`);
  return (await response.json()) as RecordedRequest[];
}

export async function upstreamCount(model: string): Promise<number> {
  const response = await fetch(`${testEnv.UPSTREAM_ORIGIN}/__count/${model}`);
  return ((await response.json()) as { count: number }).count;
}

export interface CallRow {
  request_id: string;
  ts: string;
  key_id: string | null;
  endpoint: string;
  model: string | null;
  provider: string | null;
  upstream_model: string | null;
  stream: number;
  status: number;
  error_code: string | null;
  stream_cut: number;
  latency_ms: number;
  ttfb_ms: number | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  attempts: number;
  cache_status: string | null;
  cost_usd: number | null;
}

/** The call's D1 row. Rows are written in the background, so this waits for it. */
export async function logRow(requestId: string, timeoutMs = 3000): Promise<CallRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await testEnv.DB.prepare('SELECT * FROM calls WHERE request_id = ?').bind(requestId).first<CallRow>();
    if (row) return row;
    if (Date.now() > deadline) throw new Error(`no call log row for ${requestId}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function rowCount(requestId: string): Promise<number> {
  const row = await testEnv.DB.prepare('SELECT COUNT(*) AS n FROM calls WHERE request_id = ?').bind(requestId).first<{ n: number }>();
  return row?.n ?? 0;
}

/** Reads an SSE body into its `data:` payloads. */
export async function sseData(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .map((event) => event.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n'))
    .filter(Boolean);
}
