import { SseParser, type SseEvent } from './sse';

/**
 * An upstream SSE body, read one network chunk at a time and parsed into events.
 * Events read but not yet translated (the attempt stops at the first chunk) are
 * held and come out first on the next read, so nobody translates an event twice.
 */

export type EventBatch = { events: SseEvent[]; done: boolean };

export class UpstreamEvents {
  /** Bytes read so far. */
  bytes = 0;
  private readonly parser = new SseParser();
  private readonly decoder = new TextDecoder();
  private held: SseEvent[] | undefined;
  /** Set by chaos `cut-stream`: the read after the held events breaks. */
  private cutAfterHeld = false;

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  hold(events: SseEvent[], cut = false): void {
    this.held = events;
    this.cutAfterHeld = cut;
  }

  /** The next events. */
  next(): Promise<EventBatch> {
    return this.nextWithin(Infinity) as Promise<EventBatch>;
  }

  /** The next events, or 'idle' when nothing arrives within `withinMs`. */
  async nextWithin(withinMs: number): Promise<EventBatch | 'idle'> {
    const held = this.held;
    if (held) {
      this.held = undefined;
      return { events: held, done: false };
    }
    if (this.cutAfterHeld) {
      await this.cancel();
      throw new Error('stream cut (simulated by x-gateway-chaos)');
    }
    const result = await readWithin(this.reader, withinMs);
    if (result === 'idle') return result;
    if (result.done) return { events: this.parser.end(), done: true };
    this.bytes += result.value.byteLength;
    return { events: this.parser.push(this.decoder.decode(result.value, { stream: true })), done: false };
  }

  cancel(reason?: unknown): Promise<void> {
    return this.reader.cancel(reason).catch(() => {});
  }
}

async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  ms: number,
): Promise<ReadableStreamReadResult<Uint8Array> | 'idle'> {
  if (ms <= 0) return 'idle';
  if (ms === Infinity) return reader.read();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const idle = new Promise<'idle'>((resolve) => {
    timer = setTimeout(() => resolve('idle'), ms);
  });
  try {
    return await Promise.race([reader.read(), idle]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
