import { describe, expect, it } from 'vitest';
import { parseGoDuration, upstreamWaitMs } from '../../src/providers/http-errors';
import { openai } from '../../src/providers/openai';
import { CREDENTIAL, upstreamCall } from './upstream-call';

/** A provider's non-2xx answer as the caller's error (parseError), and the wait the upstream asks for. */

const NOW = Date.UTC(2026, 10, 29, 12);
const call = upstreamCall(openai, {});
const parse = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  openai.parseError(call, status, new Headers(headers), typeof body === 'string' ? body : JSON.stringify(body));

describe('parseError', () => {
  it('passes a 4xx on with its status, our code, its param when it is a field path, and no retry', () => {
    const error = parse(400, { error: { message: 'Invalid value for messages', code: 'invalid_value', param: 'messages[0].content' } });
    expect(error).toMatchObject({ code: 'upstream_rejected', status: 400, param: 'messages[0].content', retryable: false, failover: false, upstreamStatus: 400 });
    expect(error.message).toBe('Provider "prov" answered 400 (invalid_value): Invalid value for messages');
  });

  it('scrubs the credential, URLs, bearer tokens and key-shaped strings from every field it keeps', () => {
    const error = parse(422, {
      error: { message: `bad key ${CREDENTIAL} at https://internal.example.com/x with Bearer abc.def and hf_abcdefghijkl`, code: CREDENTIAL, param: CREDENTIAL },
    });
    expect(error.message).not.toContain(CREDENTIAL.slice(0, 20));
    expect(error.message).not.toMatch(/internal\.example|abc\.def|hf_abcdefghijkl/);
    expect(error.param).toBeNull();
    expect(error.message.length).toBeLessThan(500);
  });

  it('reads a bare error string, a bare message, and nothing from an HTML page', () => {
    expect(parse(400, { error: 'no such thing' }).message).toContain(': no such thing');
    expect(parse(400, { message: 'said plainly' }).message).toContain(': said plainly');
    expect(parse(502, '<html><body>https://internal.example.com/ bad gateway</body></html>').message).toBe('Provider "prov" answered 502');
  });

  it("says the provider refused the gateway's credential on 401 and 403, never the caller's key", () => {
    for (const status of [401, 403]) {
      expect(parse(status, { error: { message: 'Incorrect API key' } })).toMatchObject({ code: 'upstream_credential_rejected', status: 502, retryable: false });
    }
  });

  it("makes a 429 a retryable rate limit with the upstream's wait, without its account headers", () => {
    const error = parse(429, { error: { message: 'slow down' } }, { 'retry-after': '2', 'x-ratelimit-reset-requests': '1s' });
    expect(error).toMatchObject({ code: 'upstream_rate_limited', status: 429, retryable: true, retryAfterMs: 2000 });
    expect(error.headers).toEqual({});
  });

  it('makes a 5xx a retryable failure that fails over, passing its retry headers on', () => {
    const error = parse(503, { error: { message: 'overloaded' } }, { 'retry-after': '1' });
    expect(error).toMatchObject({ code: 'upstream_failed', status: 502, retryable: true, failover: true, retryAfterMs: 1000 });
    expect(error.headers).toEqual({ 'retry-after': '1' });
    expect(parse(501, {})).toMatchObject({ code: 'upstream_failed', retryable: false, failover: true });
  });

  it('retries 408 and 529, not 404', () => {
    expect(parse(408, {}).retryable).toBe(true);
    expect(parse(529, {}).retryable).toBe(true);
    expect(parse(404, {}).retryable).toBe(false);
  });
});

describe('parseGoDuration', () => {
  it.each([
    ['20ms', 20],
    ['1s', 1000],
    ['1.5s', 1500],
    ['6m0s', 360_000],
    ['1h2m3s', 3_723_000],
    ['2m', 120_000],
  ])('reads %s as %i ms', (text, ms) => expect(parseGoDuration(text)).toBe(ms));

  it.each(['', 'soon', '1x', 'ms', '-1s'])('rejects %j', (text) => expect(parseGoDuration(text)).toBeUndefined());
});

describe('upstreamWaitMs', () => {
  const wait = (headers: Record<string, string>) => upstreamWaitMs(new Headers(headers), NOW);

  it('prefers retry-after-ms, then retry-after (seconds or a date), then x-ratelimit-reset-*', () => {
    expect(wait({ 'retry-after-ms': '250', 'retry-after': '9' })).toBe(250);
    expect(wait({ 'retry-after': '2' })).toBe(2000);
    expect(wait({ 'retry-after': new Date(NOW + 1500).toUTCString() })).toBe(1000); // HTTP dates have whole seconds
    expect(wait({ 'x-ratelimit-reset-requests': '300ms', 'x-ratelimit-reset-tokens': '1s' })).toBe(1000);
  });

  it('ignores garbage, and waits over a day', () => {
    expect(wait({ 'retry-after': 'soon-ish' })).toBeUndefined();
    expect(wait({ 'retry-after-ms': '-5' })).toBeUndefined();
    expect(wait({ 'retry-after': 'Fri, 01 Jan 2100 00:00:00 GMT' })).toBeUndefined();
    expect(wait({ 'retry-after': String(2 * 86_400) })).toBeUndefined();
    expect(wait({ 'retry-after': '3600' })).toBe(3_600_000);
    expect(wait({})).toBeUndefined();
  });

  it('reads a date in the past as no wait', () => {
    expect(wait({ 'retry-after': new Date(NOW - 60_000).toUTCString() })).toBe(0);
  });
});
