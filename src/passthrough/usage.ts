import { readUsage, type Usage } from '../core/usage';
import { nativeUsage as geminiUsage } from '../providers/gemini/wire';
import { scanEvent } from '../streaming/scan';
import { SseParser } from '../streaming/sse';
import type { Streamed } from '../streaming/usage';

/**
 * Token usage of a passthrough answer the gateway does not otherwise read. It sees
 * every chunk on the way to the client (which gets them unchanged) and keeps only
 * what usage needs:
 * - a JSON answer (`application/json`): its text, up to a cap, parsed once at the end;
 * - an event stream: events are split (sse.ts); only those whose data mentions
 *   `"usage"` are parsed, the rest are scanned for the text they carry (scan.ts), so
 *   a stream that reports no usage is still counted (streaming/usage.ts countStreamed);
 * - anything else (audio, files): nothing.
 *
 * Usage is read where the provider APIs put it: `usage`, `message.usage` (Anthropic's
 * `message_start`), `response.usage` (OpenAI Responses' `response.completed`) or
 * `usageMetadata` (Gemini's `promptTokenCount` / `candidatesTokenCount`), in
 * OpenAI's shape (`prompt_tokens`, `completion_tokens`) or the `input_tokens` /
 * `output_tokens` shape of Anthropic Messages and OpenAI's Responses and Images APIs.
 * Across a stream later numbers replace earlier ones field by field: Anthropic sends
 * the input in `message_start` and the running output in each `message_delta`.
 */

/** Usage as one event or answer reports it; a field it does not report stays undefined. */
type Counts = Partial<Usage>;

type Located = {
  usage?: unknown;
  /** Gemini's, on every answer and stream event (the counts so far). */
  usageMetadata?: unknown;
  message?: { usage?: unknown } | null;
  response?: { usage?: unknown } | null;
  /** Cloudflare's API envelope (Workers AI's `/run`). */
  result?: { usage?: unknown } | null;
};

type NativeUsage = {
  input_tokens?: unknown;
  output_tokens?: unknown;
  /** Anthropic: on top of input_tokens. */
  cache_read_input_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
  /** OpenAI Responses and Images: within input_tokens. */
  input_tokens_details?: { cached_tokens?: unknown } | null;
};

const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);

function defined(counts: Counts): Counts {
  return Object.fromEntries(Object.entries(counts).filter(([, value]) => value !== undefined));
}

function countsOf(usage: unknown): Counts | undefined {
  const openai = readUsage(usage);
  if (openai) return defined(openai);
  if (typeof usage !== 'object' || usage === null) return undefined;
  const gemini = geminiUsage(usage);
  if (gemini) return defined(gemini);
  const u = usage as NativeUsage;
  const input = num(u.input_tokens);
  const output = num(u.output_tokens);
  if (input === undefined && output === undefined) return undefined;
  const cacheRead = num(u.cache_read_input_tokens);
  const cacheWrite = num(u.cache_creation_input_tokens);
  return defined({
    // Every prompt token, as OpenAI's prompt_tokens: Anthropic counts cache reads and writes apart.
    prompt: input === undefined ? undefined : input + (cacheRead ?? 0) + (cacheWrite ?? 0),
    completion: output,
    cacheRead: cacheRead ?? num(u.input_tokens_details?.cached_tokens),
    cacheWrite,
  });
}

function located(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Located;
  return v.usage ?? v.message?.usage ?? v.response?.usage ?? v.usageMetadata ?? v.result?.usage;
}

export type BodyKind = 'json' | 'sse' | 'other';

export function bodyKind(contentType: string | null): BodyKind {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'text/event-stream') return 'sse';
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  return 'other';
}

export class UsageTap {
  readonly streamed: Streamed = { bytes: 0, events: 0 };
  private counts: Counts = {};
  private readonly decoder = new TextDecoder();
  private readonly parser = new SseParser();
  private text: string | undefined = '';

  /** `cap`: the most of a JSON answer kept for reading its usage; past it, its usage is unknown. */
  constructor(
    readonly kind: BodyKind,
    private readonly cap: number,
  ) {}

  push(chunk: Uint8Array): void {
    if (this.kind === 'other') return;
    const text = this.decoder.decode(chunk, { stream: true });
    if (this.kind === 'sse') {
      for (const event of this.parser.push(text)) this.event(event.data);
    } else if (this.text !== undefined) {
      this.text = this.text.length + text.length > this.cap ? undefined : this.text + text;
    }
  }

  /** Reads what the end completes: the JSON answer, a last event without its blank line. */
  end(): void {
    if (this.kind === 'sse') {
      for (const event of this.parser.end()) this.event(event.data);
    } else if (this.kind === 'json' && this.text) {
      this.take(parse(this.text + this.decoder.decode()));
      this.text = undefined;
    }
  }

  /** What the provider reported, or undefined when it reported nothing readable. */
  usage(): Usage | undefined {
    const { prompt, completion, cacheRead, cacheWrite } = this.counts;
    if (prompt === undefined && completion === undefined) return undefined;
    return { prompt: prompt ?? 0, completion: completion ?? 0, cacheRead, cacheWrite };
  }

  private event(data: string): void {
    if (carriesUsage(data)) this.take(parse(data));
    const bytes = scanEvent(data);
    if (bytes > 0) {
      this.streamed.bytes += bytes;
      this.streamed.events++;
    }
  }

  private take(value: unknown): void {
    const counts = countsOf(located(value));
    if (counts) this.counts = { ...this.counts, ...counts };
  }
}

/** Whether the event has a `"usage": {` (OpenAI streams send `"usage":null` in every chunk but the last: not parsed), or Gemini's `"usageMetadata"`. */
function carriesUsage(data: string): boolean {
  if (data.includes('"usageMetadata"')) return true;
  for (let at = data.indexOf('"usage"'); at !== -1; at = data.indexOf('"usage"', at + 7)) {
    let i = at + 7;
    while (data.charCodeAt(i) === 0x20) i++;
    if (data.charCodeAt(i) !== 0x3a /* : */) continue;
    i++;
    while (data.charCodeAt(i) === 0x20) i++;
    if (data.charCodeAt(i) === 0x7b /* { */) return true;
  }
  return false;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
