import { describe, expect, it } from 'vitest';
import { UpstreamEvents } from '../../src/streaming/event-reader';
import { SseParser } from '../../src/streaming/sse';

/** What every stream translator is fed: the SSE parser, and the reader that holds events back for the relay. */

describe('SseParser', () => {
  it('splits events anywhere across chunks, with LF, CR or CRLF line ends', () => {
    const parser = new SseParser();
    expect(parser.push('data: {"a"')).toEqual([]);
    expect(parser.push(':1}\r')).toEqual([]);
    expect(parser.push('\n\r\ndata: two\r\rdata: three\n\n')).toEqual([{ data: '{"a":1}' }, { data: 'two' }, { data: 'three' }]);
  });

  it('joins multi-line data with LF, keeps the event name, and skips comments', () => {
    const parser = new SseParser();
    expect(parser.push(': keep-alive\n\nevent: message_start\ndata: {\ndata:  "x": 1}\n\n')).toEqual([{ event: 'message_start', data: '{\n "x": 1}' }]);
  });

  it('counts a last event without its blank line at the end of input', () => {
    const parser = new SseParser();
    expect(parser.push('data: [DONE]')).toEqual([]);
    expect(parser.end()).toEqual([{ data: '[DONE]' }]);
  });
});

function body(parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}

describe('UpstreamEvents', () => {
  it('reads a network chunk at a time, counting bytes, then the end', async () => {
    const events = new UpstreamEvents(body(['data: a\n\ndata: b\n\n', 'data: c']).getReader());
    expect(await events.next()).toEqual({ events: [{ data: 'a' }, { data: 'b' }], done: false });
    expect(events.bytes).toBe(18);
    expect(await events.next()).toEqual({ events: [], done: false });
    expect(await events.next()).toEqual({ events: [{ data: 'c' }], done: true });
  });

  it('gives held events back first, and breaks the read after them when cut', async () => {
    const events = new UpstreamEvents(body(['data: a\n\n']).getReader());
    events.hold([{ data: 'held' }], true);
    expect(await events.next()).toEqual({ events: [{ data: 'held' }], done: false });
    await expect(events.next()).rejects.toThrow(/stream cut/);
  });

  it("says idle when nothing arrives in time", async () => {
    const events = new UpstreamEvents(new ReadableStream<Uint8Array>().getReader());
    expect(await events.nextWithin(20)).toBe('idle');
    expect(await events.nextWithin(0)).toBe('idle');
  });
});
