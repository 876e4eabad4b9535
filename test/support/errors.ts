import OpenAI from 'openai';
import { expect } from 'vitest';
import { KEYS, PROVIDER_SECRETS } from './constants';
import { type CallRow, logRow } from './gateway';

/** The error contract every non-2xx answer must keep, asserted in one place. */

const SECRETS: string[] = [...Object.values(KEYS), ...Object.values(PROVIDER_SECRETS)];
const STACK_TRACES = [
  /\bat\s+(?:[\w$.<>[\]]+\s+)?\(?(?:file:\/\/)?[^\s()"]+\.(?:[cm]?js|ts)(?::\d+){1,2}\)?/, // at fn (/src/x.ts:1:2)
  /\n\s+at\s+\S/, // a frame on its own line
  /\b(?:[A-Z][a-z]+)*Error: /, // "TypeError: ...", "Error: ..."
];

export interface ErrorShape {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

export interface Expected {
  status: number;
  /** The wire `code`. */
  code: string | null;
  /** The row's error_code, when it differs from the wire code (an upstream 4xx passed on). */
  rowCode?: string;
  /** Defaults to OpenAI's: server_error for 5xx, invalid_request_error otherwise. */
  type?: string;
  /** Defaults to null. */
  param?: string | null;
  /** Checked on the D1 row when given. */
  keyId?: string | null;
}

/** No secret and no stack trace anywhere in a response, headers included. */
export function expectClean(text: string, headers: Headers): void {
  // JSON escapes newlines: undo that so stack frames show up on their own lines.
  const everything = `${text}\n${[...headers].map(([name, value]) => `${name}: ${value}`).join('\n')}`.replaceAll('\\n', '\n');
  for (const secret of SECRETS) expect(everything).not.toContain(secret);
  for (const trace of STACK_TRACES) expect(everything).not.toMatch(trace);
}

/** Asserts the full error contract of one response, and its D1 row; returns its parts. */
export async function expectError(res: Response, want: Expected): Promise<{ id: string; error: ErrorShape; row: CallRow; text: string }> {
  const text = await res.text();
  expect(res.status, text).toBe(want.status);
  expect(res.headers.get('content-type')).toContain('application/json');
  const id = res.headers.get('x-request-id') ?? '';
  expect(id).toMatch(/^req_[0-9a-f]{32}$/);
  const body = JSON.parse(text) as { error: ErrorShape };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error.message).toEqual(expect.any(String));
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.code).toBe(want.code);
  expect(body.error.type).toBe(want.type ?? (want.status >= 500 ? 'server_error' : 'invalid_request_error'));
  expect(body.error.param).toBe(want.param ?? null);
  expectClean(text, res.headers);

  const row = await logRow(id);
  expect(row.status).toBe(want.status);
  expect(row.error_code).toBe(want.rowCode ?? want.code);
  if (want.keyId !== undefined) expect(row.key_id).toBe(want.keyId);
  return { id, error: body.error, row, text };
}

/** The APIError a client call rejects with. */
export async function clientError(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call;
  } catch (error) {
    if (error instanceof OpenAI.APIError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}
