import type { Operation } from '../core/operation';
import type { GatewayError } from '../errors';
import type { CallRecord, GuardrailHit } from '../logging/call-record';
import { type ChunkGuard, DONE } from '../streaming/translator';
import type { OutputPlan } from './plan';
import { blocked, contains, hit, recordHits, scanHits } from './report';
import { type Channel, ScanSession } from './scanner';

/**
 * The after-hook of a stream: a transform between the provider's translator and
 * the ingress format's framer (streaming/relay.ts). Like a translator it takes one
 * chunk (OpenAI chunk JSON) and gives chunks, or a failure that ends the stream
 * with the framer's one error event.
 *
 * Each text of each choice (content, refusal, each tool call's arguments,
 * completion text) is its own scanner channel (scanner.ts): a chunk leaves with
 * the text that is settled, and what could still be the start of a match waits
 * for the next chunk (a bounded window: the detectors' reach, usually just the
 * word being written). A chunk left with no text is dropped. Held text is
 * released into the choice's finish chunk, before a new tool call starts, and
 * before the usage chunk or [DONE]. Every chunk is parsed: that is the price of a
 * stream with output guardrails; a stream without any never comes here.
 */


type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A channel's key: choice, then `c` content, `r` refusal, `x` completion text, or a tool call's index. */
type Field = 'c' | 'r' | 'x' | number;

export function streamGuard(plan: OutputPlan, operation: Operation, record: CallRecord): ChunkGuard {
  return new Guard(plan, operation, record);
}

class Guard implements ChunkGuard {
  private readonly session: ScanSession | undefined;
  private readonly channels = new Map<number, Map<Field, Channel>>();
  private chars = 0;
  private readonly sizeHits: GuardrailHit[] = [];
  private failure: GatewayError | undefined;
  private reported = 0;
  private template: Obj | undefined;

  constructor(private readonly plan: OutputPlan, private readonly operation: Operation, private readonly record: CallRecord) {
    this.session = plan.scan && new ScanSession(plan.scan.guardrails, plan.scan.detectors);
  }

  push(chunk: string): readonly string[] | GatewayError {
    if (this.failure) return this.failure;
    let out: readonly string[];
    if (chunk === DONE) out = [...this.release(), DONE];
    else out = this.chunk(chunk);
    this.report();
    return this.failure ?? out;
  }

  private chunk(data: string): readonly string[] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return [data]; // the relay ends the stream on it
    }
    if (!isObj(parsed) || !Array.isArray(parsed.choices)) return [data];
    this.template ??= { id: parsed.id, object: parsed.object, created: parsed.created, model: parsed.model };
    if (parsed.choices.length === 0) return [...this.release(), data];
    let changed = false;
    const kept: unknown[] = [];
    for (const choice of parsed.choices) {
      if (!isObj(choice)) {
        kept.push(choice);
        continue;
      }
      const touched = this.operation === 'completions' ? this.completionChoice(choice) : this.chatChoice(choice);
      changed ||= touched;
      if (!touched || !emptied(choice)) kept.push(choice);
    }
    if (!changed) return [data];
    if (kept.length === 0 && (parsed.usage === undefined || parsed.usage === null)) return [];
    parsed.choices = kept;
    return [JSON.stringify(parsed)];
  }

  private chatChoice(choice: Obj): boolean {
    const index = typeof choice.index === 'number' ? choice.index : 0;
    const delta: Obj = isObj(choice.delta) ? choice.delta : {};
    const calls = Array.isArray(delta.tool_calls) ? (delta.tool_calls as unknown[]) : [];
    let changed = false;
    // A new tool call: the choice's held text goes first, so framers keep their blocks in order.
    const before = calls.some((c) => isObj(c) && typeof c.id === 'string') ? this.end(index) : new Map<Field, string>();
    for (const field of ['content', 'refusal'] as const) {
      const text = delta[field];
      const held = before.get(field === 'content' ? 'c' : 'r') ?? '';
      if (typeof text !== 'string' && !held) continue;
      const out = held + (typeof text === 'string' ? this.pass(index, field === 'content' ? 'c' : 'r', text) : '');
      if (out !== text) [delta[field], changed] = [out, true];
    }
    const earlier = [...before].filter(([field]) => typeof field === 'number').map(([tool, args]) => ({ index: tool, function: { arguments: args } }));
    for (const call of calls) {
      if (!isObj(call) || !isObj(call.function) || typeof call.function.arguments !== 'string') continue;
      const out = this.pass(index, typeof call.index === 'number' ? call.index : 0, call.function.arguments);
      if (out !== call.function.arguments) [call.function.arguments, changed] = [out, true];
    }
    if (earlier.length > 0) [delta.tool_calls, changed] = [[...earlier, ...calls], true];
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
      for (const [field, rest] of this.end(index)) {
        changed = true;
        if (typeof field === 'number') {
          const call = (delta.tool_calls as Obj[] | undefined)?.find((c) => isObj(c) && c.index === field && isObj(c.function));
          if (call) (call.function as Obj).arguments = String((call.function as Obj).arguments ?? '') + rest;
          else delta.tool_calls = [...((delta.tool_calls as unknown[]) ?? []), { index: field, function: { arguments: rest } }];
        } else {
          const name = field === 'c' ? 'content' : 'refusal';
          delta[name] = (typeof delta[name] === 'string' ? delta[name] : '') + rest;
        }
      }
    }
    if (changed) choice.delta = delta;
    return changed;
  }

  private completionChoice(choice: Obj): boolean {
    const index = typeof choice.index === 'number' ? choice.index : 0;
    let changed = false;
    if (typeof choice.text === 'string') {
      const out = this.pass(index, 'x', choice.text);
      if (out !== choice.text) [choice.text, changed] = [out, true];
    }
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
      const rest = this.end(index).get('x');
      if (rest) [choice.text, changed] = [String(choice.text ?? '') + rest, true];
    }
    return changed;
  }

  /** One piece of text through its channel: what may leave now. */
  private pass(choice: number, field: Field, text: string): string {
    if (text === '') return text;
    this.countChars(text.length);
    if (!this.session) return text;
    let fields = this.channels.get(choice);
    if (!fields) this.channels.set(choice, (fields = new Map()));
    let channel = fields.get(field);
    if (!channel) fields.set(field, (channel = this.session.channel()));
    const out = channel.push(text);
    this.checkBlocked();
    return out;
  }

  /** Ends a choice's channels: what each still held. */
  private end(choice: number): Map<Field, string> {
    const rests = new Map<Field, string>();
    const fields = this.channels.get(choice);
    if (!fields) return rests;
    for (const [field, channel] of fields) {
      const rest = channel.end();
      if (rest) rests.set(field, rest);
    }
    this.channels.delete(choice);
    this.checkBlocked();
    return rests;
  }

  /** Everything still held, as chunks of its own (before usage or [DONE]). */
  private release(): string[] {
    const out: string[] = [];
    for (const choice of [...this.channels.keys()]) {
      const rests = this.end(choice);
      for (const [field, text] of rests) {
        const delta = typeof field === 'number' ? { tool_calls: [{ index: field, function: { arguments: text } }] } : { [field === 'c' ? 'content' : 'refusal']: text };
        const body = field === 'x' ? { index: choice, text, logprobs: null, finish_reason: null } : { index: choice, delta, logprobs: null, finish_reason: null };
        out.push(JSON.stringify({ ...this.template, choices: [body] }));
      }
    }
    return out;
  }

  private countChars(n: number): void {
    this.chars += n;
    for (const g of this.plan.size) {
      if (g.config.kind !== 'size' || g.config.max_output_chars === undefined || this.chars <= g.config.max_output_chars) continue;
      if (this.sizeHits.some((h) => h.name === g.name)) continue;
      this.sizeHits.push(hit(g, 'output', ['max_output_chars']));
      if (g.config.mode === 'block') this.failure ??= blocked(g.name, 'output', `passed ${g.config.max_output_chars} characters`);
    }
  }

  private checkBlocked(): void {
    const b = this.session?.blocked;
    if (b && !this.failure) this.failure = blocked(this.plan.scan!.guardrails[b.guardrail]!.name, 'output', contains(b.type));
  }

  /** Keeps the call's log entries current: a stream can end any time (the client may leave). */
  private report(): void {
    const fired = this.sizeHits.length + [...(this.session?.fired.values() ?? [])].reduce((n, types) => n + types.size, 0);
    if (fired === this.reported) return;
    this.reported = fired;
    recordHits(this.record, 'output', [...this.sizeHits, ...(this.session ? scanHits(this.plan.scan!, this.session, 'output') : [])]);
  }
}

/** A choice whose only content was text that is now held back. */
function emptied(choice: Obj): boolean {
  if (choice.finish_reason !== null && choice.finish_reason !== undefined) return false;
  if ('text' in choice) return choice.text === '';
  const delta = choice.delta;
  if (!isObj(delta)) return false;
  return Object.entries(delta).every(([key, value]) => {
    if (key === 'content' || key === 'refusal') return value === '' || value === null;
    if (key !== 'tool_calls' || !Array.isArray(value)) return false;
    return value.every((c) => isObj(c) && Object.keys(c).every((k) => k === 'index' || k === 'function') && isObj(c.function) && c.function.arguments === '' && c.function.name === undefined);
  });
}
