import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { client, logRow, postJson, sseData, upstreamSaw, upstreamSawHangUp } from './support/gateway';

const hello = [{ role: 'user' as const, content: 'tell me a story' }];

async function streamEvents(model: string) {
  const res = await postJson('/v1/chat/completions', { model, messages: hello, stream: true });
  expect(res.status).toBe(200);
  const id = res.headers.get('x-request-id')!;
  return { id, events: await sseData(res) };
}

function expectOneErrorEventLast(events: string[], code: string) {
  const errors = events.filter((e) => e.includes('"error"'));
  expect(errors).toHaveLength(1);
  expect(events.at(-1)).toBe(errors[0]);
  expect(events).not.toContain('[DONE]');
  const body = JSON.parse(errors[0]!) as { error: Record<string, unknown> };
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error.code).toBe(code);
  return body.error;
}

describe('a stream that fails after its first byte', () => {
  it('ends with one explicit error event when the connection resets, and the row says cut', async () => {
    const { id, events } = await streamEvents('fixture/fault-reset-stream');
    expect(events[0]).toContain('"role":"assistant"');
    expectOneErrorEventLast(events, 'stream_cut');
    expect(await logRow(id)).toMatchObject({ status: 200, stream: 1, stream_cut: 1, error_code: 'stream_cut' });
  });

  it('makes the openai client raise instead of returning a truncated answer', async () => {
    const stream = await client().chat.completions.create({ model: 'fixture/fault-reset-stream', messages: hello, stream: true });
    let text = '';
    const consume = async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    };
    await expect(consume()).rejects.toBeInstanceOf(OpenAI.APIError);
    expect(text.length).toBeGreaterThan(0);
  });

  it('treats a clean end without finish or [DONE] as cut', async () => {
    const { id, events } = await streamEvents('fixture/fault-no-done');
    expectOneErrorEventLast(events, 'stream_cut');
    expect(await logRow(id)).toMatchObject({ stream_cut: 1 });
  });

  it("relays the upstream's in-band error event once, sanitized, and marks the row cut", async () => {
    const { id, events } = await streamEvents('fixture/fault-error-event');
    const error = expectOneErrorEventLast(events, 'stream_cut');
    expect(error.message).toContain('upstream overloaded');
    expect(await logRow(id)).toMatchObject({ stream_cut: 1, error_code: 'stream_cut' });
  });

  it('times out a stalled stream after the idle timeout', async () => {
    const started = Date.now();
    const { id, events } = await streamEvents('quick/fault-stall-stream');
    expect(Date.now() - started).toBeLessThan(2500);
    expectOneErrorEventLast(events, 'upstream_timeout');
    expect(await logRow(id)).toMatchObject({ stream_cut: 1, error_code: 'upstream_timeout' });
    expect(await upstreamSawHangUp(id)).toBe(true);
  });

  it('ends a stream that outlives the total timeout, and hangs up on the upstream', async () => {
    // 150 ms between chunks keeps the idle timer (400 ms) happy; the total (500 ms) is not.
    const { id, events } = await streamEvents('brief/fault-slow-stream');
    expect(events.length).toBeGreaterThan(1);
    expectOneErrorEventLast(events, 'upstream_timeout');
    expect(await logRow(id)).toMatchObject({ stream_cut: 1, error_code: 'upstream_timeout' });
    expect(await upstreamSawHangUp(id)).toBe(true);
  });

  it('does not count keep-alive comments as a first byte: a comment-only stream times out', async () => {
    const started = Date.now();
    const res = await postJson('/v1/chat/completions', { model: 'quick/fault-keepalive', messages: hello, stream: true });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
  });

  it('aborts the upstream call when the client disconnects, and logs 499', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'fixture/fault-stall-stream', messages: hello, stream: true });
    const id = res.headers.get('x-request-id')!;
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const row = await logRow(id);
    expect(row).toMatchObject({ status: 499, error_code: 'client_closed', stream_cut: 1 });
    expect(await upstreamSaw(id)).toHaveLength(1);
    expect(await upstreamSawHangUp(id)).toBe(true);
  });
});

describe('stream events the upstream frames oddly', () => {
  it('re-frames an event spread over several data: lines as one line the openai client parses', async () => {
    const stream = await client().chat.completions.create({ model: 'fixture/fault-multiline-data', messages: hello, stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe('echo: tell me a story');
    expect(finish).toBe('stop');
  });

  it('sends each multi-line event on one data: line, and logs a complete stream', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'fixture/fault-multiline-data', messages: hello, stream: true });
    const id = res.headers.get('x-request-id')!;
    const body = await res.text();
    const lines = body.split('\n').filter(Boolean);
    expect(lines.every((line) => line.startsWith('data: '))).toBe(true);
    expect(lines.at(-1)).toBe('data: [DONE]');
    for (const line of lines.slice(0, -1)) expect(() => JSON.parse(line.slice(6))).not.toThrow();
    expect(await logRow(id)).toMatchObject({ status: 200, stream_cut: 0, error_code: null });
  });

  it('ends with the error event, not [DONE], when a data line mid-stream is not JSON; the row says cut', async () => {
    const { id, events } = await streamEvents('fixture/fault-bad-data-line');
    expect(events[0]).toContain('"role":"assistant"');
    expect(events.some((e) => e.includes('oops'))).toBe(false);
    expectOneErrorEventLast(events, 'upstream_invalid_response');
    expect(await logRow(id)).toMatchObject({ status: 200, stream_cut: 1, error_code: 'upstream_invalid_response' });
  });

  it('makes the openai client raise on a bad data line, after the text before it', async () => {
    const stream = await client().chat.completions.create({ model: 'fixture/fault-bad-data-line', messages: hello, stream: true });
    let text = '';
    const consume = async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    };
    await expect(consume()).rejects.toBeInstanceOf(OpenAI.APIError);
    expect(text).toBe('echo: ');
  });
});

describe('a stream that fails before its first byte', () => {
  it('answers with an ordinary error status', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'fixture/fault-503', messages: hello, stream: true });
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await logRow(res.headers.get('x-request-id')!)).toMatchObject({ status: 502, stream: 1, error_code: 'upstream_failed' });
  });
});
