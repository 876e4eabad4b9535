/**
 * Finds detector matches in text that arrives in pieces, and redacts them, with
 * the same result however the text is cut: a whole prompt is one piece, a stream
 * is many. A channel (one text field of one choice) holds back only what could
 * still be the start of a match:
 *
 * - each detector declares how far a match attempt reads (`reach`), and
 *   optionally which characters a match may contain (`inner`) and start with
 *   (`first`): text before the last character outside `inner`, or before the
 *   first that could start a match, cannot be part of a match still arriving;
 * - a match is settled once it starts before that point (it has all the text it
 *   can read); the point moves back to the start of a settled match it would cut;
 * - the text before the point leaves, with settled matches replaced, and a few
 *   characters stay behind as context for look-behinds.
 *
 * Overlapping redacted matches merge into one span (the earliest one's
 * placeholder), so no part of any match is left; block and flag matches only fire. A region detector (a PEM private key) swallows everything
 * from its start marker to its end marker, or to the end of the text.
 */

export type Mode = 'block' | 'redact' | 'flag';

export interface Detector {
  /** Index of its guardrail in the session. */
  guardrail: number;
  type: string;
  /** Global flag set; shared by every call (used synchronously only). */
  regex: RegExp;
  reach: number;
  behind: number;
  inner?: RegExp | undefined;
  /** A character a match may start with; absent when any may. */
  first?: RegExp | undefined;
  /** How much of a match to keep (0: not a match): a checksum, a structure test. */
  valid?: ((match: string) => number) | undefined;
  end?: { regex: RegExp; reach: number } | undefined;
  /** An exception of its guardrail: its matches shelter the guardrail's own matches inside them. */
  allow?: boolean;
  placeholder: string;
}

export interface ScanGuardrail {
  name: string;
  mode: Mode;
  /** Characters of text scanned in one call before the guardrail gives up (and fires TOO_LONG). */
  maxScanChars: number;
}

/** Fired guardrails: index → detector types. */
export type Fired = Map<number, Set<string>>;

export class ScanSession {
  readonly fired: Fired = new Map();
  blocked: { guardrail: number; type: string } | undefined;
  private scanned = 0;
  private readonly exhausted = new Set<number>();
  readonly context: number;

  constructor(
    readonly guardrails: readonly ScanGuardrail[],
    readonly detectors: readonly Detector[],
  ) {
    this.context = Math.max(1, ...detectors.map((d) => d.behind));
  }

  channel(): Channel {
    return new Channel(this);
  }

  active(detector: Detector): boolean {
    return !this.exhausted.has(detector.guardrail);
  }

  fire(guardrail: number, type: string): void {
    let types = this.fired.get(guardrail);
    if (!types) this.fired.set(guardrail, (types = new Set()));
    types.add(type);
    if (this.guardrails[guardrail]!.mode === 'block') this.blocked ??= { guardrail, type };
  }

  /** Counts scanned text; a guardrail past its cap fires TOO_LONG (and blocks unless it only flags). */
  count(chars: number): void {
    this.scanned += chars;
    this.guardrails.forEach((g, i) => {
      if (this.scanned <= g.maxScanChars || this.exhausted.has(i)) return;
      this.exhausted.add(i);
      this.fire(i, 'TOO_LONG');
      if (g.mode === 'redact') this.blocked ??= { guardrail: i, type: 'TOO_LONG' };
    });
  }

  mode(detector: Detector): Mode {
    return this.guardrails[detector.guardrail]!.mode;
  }
}

interface Candidate {
  d: Detector;
  start: number;
  end: number;
}

export class Channel {
  private held = '';
  /** Original text just before `held`, for look-behinds; empty only at the very start. */
  private before = '';
  /** Per detector: index in `held` of the last character a match cannot contain, or -1. */
  private readonly lastBreak: number[];
  private region: Detector | undefined;

  constructor(private readonly session: ScanSession) {
    this.lastBreak = session.detectors.map(() => -1);
  }

  /** Adds text; returns what may leave now. */
  push(text: string): string {
    if (text.length === 0) return '';
    this.session.count(text.length);
    const from = this.held.length;
    this.held += text;
    this.session.detectors.forEach((d, i) => {
      if (!d.inner) return;
      for (let k = this.held.length - 1; k >= from; k--) {
        if (!d.inner.test(this.held[k]!)) {
          this.lastBreak[i] = k;
          break;
        }
      }
    });
    return this.drain(false);
  }

  /** The text is over: everything left, settled. */
  end(): string {
    return this.drain(true);
  }

  private drain(final: boolean): string {
    let out = '';
    for (;;) {
      if (this.session.blocked) return out;
      if (this.region) {
        if (!this.leaveRegion(final)) return out;
        continue;
      }
      const cut = final ? this.held.length : this.settledBefore();
      const candidates = this.candidates(cut, final);
      const allows = candidates.filter((c) => c.d.allow);
      const denies = candidates.filter(
        (c) => !c.d.allow && !allows.some((a) => a.d.guardrail === c.d.guardrail && a.start <= c.start && c.end <= a.end),
      );
      const kept: Candidate[] = [];
      let region: Candidate | undefined;
      for (const c of denies.filter((c) => this.session.mode(c.d) === 'redact').sort((a, b) => a.start - b.start || b.end - a.end)) {
        const last = kept[kept.length - 1];
        // Overlapping matches become one span: every character any of them covers goes.
        const merged = last && c.start < last.end ? { d: c.d.end ? c.d : last.d, start: last.start, end: Math.max(last.end, c.end) } : undefined;
        if (merged) kept[kept.length - 1] = merged;
        else kept.push(c);
        if (c.d.end) {
          region = kept[kept.length - 1];
          break;
        }
      }
      // Text inside a redacted region is not screened further.
      for (const c of denies) if (!region || c.start < region.start || c === region) this.session.fire(c.d.guardrail, c.d.type);
      if (this.session.blocked) return out;
      if (region) {
        out += this.replaced(kept, region.start) + region.d.placeholder;
        this.consume(region.end);
        this.region = region.d;
        continue;
      }
      // A settled match the cut would split waits whole: a redaction, or an exception sheltering what follows.
      let upTo = cut;
      for (const c of [...kept, ...allows]) if (c.start < cut && c.end > cut) upTo = Math.min(upTo, c.start);
      out += this.replaced(kept.filter((k) => k.end <= upTo), upTo);
      this.consume(upTo);
      return out;
    }
  }

  /** Where text stops being settled: no match still arriving can start before it. */
  private settledBefore(): number {
    let cut = this.held.length;
    this.session.detectors.forEach((d, i) => {
      if (!this.session.active(d)) return;
      let limit = Math.max(0, this.held.length - d.reach);
      if (d.inner) limit = Math.max(limit, this.lastBreak[i]! + 1);
      // A match still arriving starts where a match can start.
      if (d.first) while (limit < cut && !d.first.test(this.held[limit]!)) limit++;
      cut = Math.min(cut, limit);
    });
    return cut;
  }

  /** Matches starting before `cut` (every match when final), validated; searched from every position. */
  private candidates(cut: number, final: boolean): Candidate[] {
    const text = this.before + this.held;
    const offset = this.before.length;
    const out: Candidate[] = [];
    for (const d of this.session.detectors) {
      if (!this.session.active(d)) continue;
      d.regex.lastIndex = offset;
      for (let m = d.regex.exec(text); m; m = d.regex.exec(text)) {
        const start = m.index - offset;
        if (!final && start >= cut) break;
        d.regex.lastIndex = m.index + 1;
        const length = d.valid ? d.valid(m[0]) : m[0].length;
        if (length > 0) out.push({ d, start, end: start + length });
      }
    }
    return out;
  }

  private replaced(kept: Candidate[], upTo: number): string {
    let out = '';
    let at = 0;
    for (const k of kept) {
      if (k.end > upTo) break;
      out += this.held.slice(at, k.start) + k.d.placeholder;
      at = k.end;
    }
    return out + this.held.slice(at, upTo);
  }

  /** Drops the first `n` characters of `held` (gone out, or swallowed), keeping context. */
  private consume(n: number): void {
    if (n === 0) return;
    this.before = (this.before + this.held.slice(0, n)).slice(-this.session.context);
    this.held = this.held.slice(n);
    for (let i = 0; i < this.lastBreak.length; i++) this.lastBreak[i] = Math.max(-1, this.lastBreak[i]! - n);
  }

  /** Inside a region: swallows text up to its end marker. True when it left the region. */
  private leaveRegion(final: boolean): boolean {
    const end = this.region!.end!;
    end.regex.lastIndex = 0;
    const m = end.regex.exec(this.held);
    if (m) {
      this.consume(m.index + m[0].length);
      this.region = undefined;
      return true;
    }
    if (final) {
      this.consume(this.held.length);
      this.region = undefined;
      return false;
    }
    // Keep only what could be the start of the end marker.
    this.consume(Math.max(0, this.held.length - (end.reach - 1)));
    return false;
  }
}

/** Scans one whole text: the redacted text (the same string when nothing changed). */
export function scanWhole(session: ScanSession, text: string): string {
  const channel = session.channel();
  const out = channel.push(text) + channel.end();
  return out === text ? text : out;
}
