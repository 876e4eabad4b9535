import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors';
import { openai } from '../../src/providers/openai';
import { DONE } from '../../src/streaming/translator';
import { CREDENTIAL, upstreamCall } from './upstream-call';

/** The OpenAI-format stream translator: pass-through, the stream's end, and in-band errors. */

const translator = () => openai.streamTranslator(upstreamCall(openai, {}, { stream: true }));
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] });
const errorEvent = (message: string) => JSON.stringify({ error: { message, type: 'server_error' } });

describe('openAIStream', () => {
  it("passes each event's data through as the very same string", () => {
    const t = translator();
    const data = chunk({ content: 'hi "error" and "usage"' });
    expect(t.push({ data })).toBe(data);
    const usage = JSON.stringify({ id: 'c', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } });
    expect(t.push({ data: usage })).toBe(usage);
  });

  it('ends on [DONE], and on a close after a finish_reason (servers that omit [DONE])', () => {
    const t = translator();
    t.push({ data: chunk({ content: 'a' }) });
    expect(t.push({ data: DONE })).toBe(DONE);
    const finished = translator();
    finished.push({ data: chunk({}, 'stop') });
    expect(finished.end()).toBe(DONE);
  });

  it('does not end a stream that closes without a finish', () => {
    const t = translator();
    t.push({ data: chunk({ content: 'a' }) });
    expect(t.end()).toBeNull();
  });

  it('fails the attempt, retryably, on an error event before any chunk', () => {
    const out = translator().push({ data: errorEvent(`overloaded, key ${CREDENTIAL}`) });
    expect(out).toBeInstanceOf(GatewayError);
    const error = out as GatewayError;
    expect(error).toMatchObject({ code: 'upstream_failed', retryable: true });
    expect(error.message).toContain('Provider "prov" sent an error before any data: overloaded');
    expect(error.message).not.toContain(CREDENTIAL.slice(0, 20));
  });

  it('cuts the stream on an error event after the first chunk', () => {
    const t = translator();
    t.push({ data: chunk({ role: 'assistant' }) });
    const out = t.push({ data: errorEvent('upstream overloaded') }) as GatewayError;
    expect(out).toBeInstanceOf(GatewayError);
    expect(out).toMatchObject({ code: 'stream_cut', retryable: false });
    expect(out.message).toBe('Provider "prov" failed mid-stream: upstream overloaded');
  });

  it('leaves a data line that is not JSON to the relay, which refuses it', () => {
    expect(translator().push({ data: '{"error": oops' })).toBe('{"error": oops');
  });
});
