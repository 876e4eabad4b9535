/**
 * A server-sent events parser (WHATWG HTML, "Parsing an event stream"): fields
 * `data` and `event`, comments ignored, CR, LF or CRLF line ends, events split
 * anywhere across network chunks.
 */

export interface SseEvent {
  event?: string;
  data: string;
}

export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event: string | undefined;

  /** Feeds decoded text; returns the events it completed. */
  push(text: string): SseEvent[] {
    this.buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue;
      // A CR at the very end may be the first half of a CRLF: wait for more.
      if (ch === 13 && i === this.buffer.length - 1) break;
      this.line(this.buffer.slice(start, i), events);
      if (ch === 13 && this.buffer.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** At end of input a final event without its blank line still counts. */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.buffer) this.line(this.buffer, events);
    this.buffer = '';
    this.line('', events);
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        events.push(this.event ? { event: this.event, data: this.data.join('\n') } : { data: this.data.join('\n') });
      }
      this.data = [];
      this.event = undefined;
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' comment, e.g. keep-alive */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }
}
