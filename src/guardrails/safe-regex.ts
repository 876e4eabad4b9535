/**
 * Operator regular expressions, made safe to run on untrusted text. JavaScript's
 * regex engine backtracks, so a pattern like `(a+)+$` can take exponential time
 * on a crafted prompt and stall the isolate. A pattern is parsed here at config
 * check, and refused when it has a shape whose cost can grow faster than
 * (text length × repeat bound):
 *
 * - a backreference (`\1`, `\k<name>`);
 * - a repeat inside a repeat: `(a+)+`, `(\d[ -]?){4}`, `(a|b+)*`;
 * - alternatives inside a repeat that can start with the same character: `(a|ab)+`;
 * - a repeat of something that can match nothing: `(a?)+`;
 * - two repeats that can match the same characters with nothing in between that
 *   the first cannot also match: `\d+\d+`, `.*x.*`, `\w*\s?\w*`;
 * - a pattern that can match the empty string, or more than MAX_MATCH characters.
 *
 * Every unbounded repeat (`*`, `+`, `{n,}`) then becomes bounded by REPEAT_CAP, so
 * a match attempt from one position costs at most about REPEAT_CAP steps per
 * repeat, and a scan about (text length × REPEAT_CAP × repeats); the scanned text
 * is capped too (docs/configuration.md, "Guardrails"). Character-set overlaps are
 * decided on a probe alphabet (ASCII and a few others), an approximation.
 */

/** What `*`, `+` and `{n,}` may repeat at most, once compiled. */
export const REPEAT_CAP = 100;
/** The largest explicit bound `{n,m}` accepted. */
export const MAX_BOUND = 1000;
/** The longest match (and look-around reach) a pattern may have: bounds a stream's held-back window. */
export const MAX_MATCH = 1024;

export interface SafePattern {
  /** The rewritten source: repeats bounded. */
  source: string;
  flags: string;
  /** Characters from a match's start that a match attempt may read (the match and what it looks ahead at). */
  reach: number;
  /** Characters before a match's start it may look at (look-behind, \b). */
  behind: number;
  /**
   * A character a match (or a look-ahead of it) may read; undefined when any may.
   * Only ASCII characters are ever outside it: what the probes cannot tell stays inside.
   */
  inner: RegExp | undefined;
  /** A character a match may start with (ASCII decided, the rest always may); undefined when any may. */
  first: RegExp | undefined;
}

export class PatternError extends Error {}

interface Item {
  kind: 'char' | 'group' | 'assert';
  /** Source of the atom, without its quantifier (groups: rebuilt from `alts`). */
  src: string;
  /** Group opening, e.g. `(?:`, `(?=`, `(?<name>`. */
  open?: string;
  alts?: Item[][];
  /** Look-behind: counts towards `behind`. */
  behindLook?: boolean;
  min: number;
  max: number;
  lazy: boolean;
}

const PROBES = [
  ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)),
  '\t', '\n', '\r', '\u00a0', 'é', 'ß', 'Ж', '中', '\u2028', '😀', '٣',
];

export function compileSafe(pattern: string, caseInsensitive: boolean): SafePattern {
  const flags = caseInsensitive ? 'iu' : 'u';
  try {
    new RegExp(pattern, flags);
  } catch (error) {
    throw new PatternError(`is not a valid regular expression (${(error as Error).message})`);
  }
  const parser = new Parser(pattern, flags);
  const alts = parser.alternation();
  if (parser.at < pattern.length) throw new PatternError(`has an unmatched ")" at ${parser.at}`);
  const root: Item = { kind: 'group', src: '', open: '(?:', alts, min: 1, max: 1, lazy: false };
  parser.check(root);
  if (minLen(root) === 0) throw new PatternError('can match the empty string');
  const reach = maxLen(root, true);
  if (reach > MAX_MATCH) throw new PatternError(`can match (or look at) more than ${MAX_MATCH} characters; bound its repeats`);
  const source = alts.map((seq) => seq.map(emit).join('')).join('|');
  const read = parser.read(root);
  const first = parser.first([root]);
  const has = (bits: bigint) => (i: number) => (bits & (1n << BigInt(i))) !== 0n;
  return { source, flags, reach, behind: behindOf(root), inner: innerOf(has(read)), first: innerOf(has(first)) };
}

/** A literal string as a pattern (always safe). */
export function literalPattern(text: string, caseInsensitive: boolean): SafePattern {
  if (text.length === 0) throw new PatternError('must not be empty');
  if (text.length > MAX_MATCH) throw new PatternError(`is longer than ${MAX_MATCH} characters`);
  // With the u flag only syntax characters may be escaped (`\-` is an error outside a class).
  const source = text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const flags = caseInsensitive ? 'iu' : 'u';
  const chars = new RegExp(`^(?:${[...new Set(text)].map((c) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`, flags);
  const first = new RegExp(`^${source.startsWith('\\') ? source.slice(0, 2) : [...text][0]!}$`, flags);
  return { source, flags, reach: text.length, behind: 0, inner: innerOf((i) => chars.test(PROBES[i]!)), first: innerOf((i) => first.test(PROBES[i]!)) };
}

/** The ASCII probes, by index in PROBES, a scanner may treat as outside every match. */
const ASCII_PROBES = PROBES.map((p, i) => [p, i] as const).filter(([p]) => p.charCodeAt(0) < 0x80);

function innerOf(inside: (probe: number) => boolean): RegExp | undefined {
  const outside = ASCII_PROBES.filter(([, i]) => !inside(i)).map(([p]) => p);
  if (outside.length === 0) return undefined;
  const escaped = outside.map((c) => (/[\]\\^-]/.test(c) ? `\\${c}` : c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : c)).join('');
  return new RegExp(`[^${escaped}]`, 'u');
}

class Parser {
  at = 0;
  private readonly sets = new Map<string, bigint>();

  constructor(private readonly src: string, private readonly flags: string) {}

  alternation(): Item[][] {
    const alts: Item[][] = [this.sequence()];
    while (this.src[this.at] === '|') {
      this.at++;
      alts.push(this.sequence());
    }
    return alts;
  }

  private sequence(): Item[] {
    const items: Item[] = [];
    while (this.at < this.src.length && this.src[this.at] !== '|' && this.src[this.at] !== ')') {
      const item = this.atom();
      this.quantifier(item);
      items.push(item);
    }
    return items;
  }

  private atom(): Item {
    const start = this.at;
    const c = this.src[this.at]!;
    const item = (kind: Item['kind'], src: string): Item => ({ kind, src, min: 1, max: 1, lazy: false });
    if (c === '(') {
      const open = /^\((?:\?:|\?=|\?!|\?<=|\?<!|\?<[A-Za-z_$][\w$]*>)?/.exec(this.src.slice(this.at))![0];
      this.at += open.length;
      const alts = this.alternation();
      if (this.src[this.at] !== ')') throw new PatternError('has an unclosed group');
      this.at++;
      const look = open === '(?=' || open === '(?!' || open === '(?<=' || open === '(?<!';
      return { ...item(look ? 'assert' : 'group', ''), open, alts, behindLook: open === '(?<=' || open === '(?<!' };
    }
    if (c === '[') {
      this.at++;
      while (this.at < this.src.length && this.src[this.at] !== ']') this.at += this.src[this.at] === '\\' ? 2 : 1;
      this.at++;
      return item('char', this.src.slice(start, this.at));
    }
    if (c === '\\') {
      const next = this.src[this.at + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') throw new PatternError('uses a backreference, which can take exponential time');
      if (next === 'b' || next === 'B') {
        this.at += 2;
        return item('assert', this.src.slice(start, this.at));
      }
      const escape = /^\\(?:[pP]\{[^}]*\}|u\{[0-9A-Fa-f]+\}|u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|c[A-Za-z]|[\s\S])/.exec(this.src.slice(this.at))![0];
      this.at += escape.length;
      return item('char', escape);
    }
    if (c === '^' || c === '$') {
      this.at++;
      return item('assert', c);
    }
    const point = String.fromCodePoint(this.src.codePointAt(this.at)!);
    this.at += point.length;
    return item('char', point);
  }

  private quantifier(item: Item): void {
    const match = /^(?:[*+?]|\{(\d+)(,(\d*))?\})(\??)/.exec(this.src.slice(this.at));
    if (!match) return;
    if (item.kind === 'assert') throw new PatternError('repeats an assertion');
    this.at += match[0].length;
    const q = match[0][0];
    if (q === '*') [item.min, item.max] = [0, Infinity];
    else if (q === '+') [item.min, item.max] = [1, Infinity];
    else if (q === '?') [item.min, item.max] = [0, 1];
    else {
      item.min = Number(match[1]);
      item.max = match[2] === undefined ? item.min : match[3] === '' ? Infinity : Number(match[3]);
    }
    if ((item.max !== Infinity && item.max > MAX_BOUND) || item.min > MAX_BOUND) throw new PatternError(`repeats more than ${MAX_BOUND} times`);
    item.lazy = match[4] === '?';
  }

  /** The probe characters an item can consume (any of its characters, for a group). */
  set(item: Item): bigint {
    if (item.kind === 'assert') return 0n;
    if (item.kind === 'group') return item.alts!.flat().reduce((all, child) => all | this.set(child), 0n);
    let bits = this.sets.get(item.src);
    if (bits === undefined) {
      const re = new RegExp(`^(?:${item.src})$`, this.flags);
      bits = 0n;
      PROBES.forEach((probe, i) => {
        if (re.test(probe)) bits! |= 1n << BigInt(i);
      });
      this.sets.set(item.src, bits);
    }
    return bits;
  }

  /** Every probe character some atom of the item reads, look-arounds included. */
  read(item: Item): bigint {
    if (!item.alts) return item.kind === 'assert' ? 0n : this.set(item);
    return item.alts.flat().reduce((all, child) => all | this.read(child), 0n);
  }

  /** Characters a sequence can start with. */
  first(seq: Item[]): bigint {
    let bits = 0n;
    for (const item of seq) {
      bits |= item.kind === 'group' ? item.alts!.reduce((all, alt) => all | this.first(alt), 0n) : this.set(item);
      if (minLen(item) > 0) break;
    }
    return bits;
  }

  check(item: Item): void {
    if (!item.alts) return;
    const repeated = item.max > 1;
    if (repeated && item.kind === 'group') {
      if (item.alts.flat().some(hasVariable)) throw new PatternError(`nests a repeat inside a repeat (${emit(item)}), which can take exponential time`);
      if (minLen({ ...item, min: 1, max: 1 }) === 0) throw new PatternError(`repeats something that can match nothing (${emit(item)})`);
      const firsts = item.alts.map((alt) => this.first(alt));
      for (let i = 0; i < firsts.length; i++) {
        for (let j = i + 1; j < firsts.length; j++) {
          if (firsts[i]! & firsts[j]!) throw new PatternError(`repeats alternatives that can start alike (${emit(item)}); make their first characters differ`);
        }
      }
    }
    for (const alt of item.alts) {
      this.walk(alt);
      for (const child of alt) this.check(child);
    }
  }

  /** Refuses two repeats in a sequence that could share the characters between them (polynomial backtracking). */
  private walk(seq: Item[]): void {
    let open: { bits: bigint; item: Item }[] = [];
    for (const item of flatten(seq)) {
      if (item.kind === 'assert') continue;
      const bits = this.set(item);
      const variable = item.min !== item.max || (item.kind === 'group' && (item.alts!.length > 1 || item.alts!.flat().some(hasVariable)));
      if (variable) {
        // The later repeat clashes when the open one could eat what it starts with.
        const starts = item.kind === 'group' ? this.first([item]) : bits;
        const clash = open.find((o) => o.bits & starts);
        if (clash) throw new PatternError(`has repeats that can match the same text (${emit(clash.item)} … ${emit(item)}), which can take polynomial time`);
      }
      // A required item the open repeat cannot match ends it.
      if (minLen(item) > 0) open = open.filter((o) => (bits & ~o.bits) === 0n);
      if (variable) open.push({ bits, item });
    }
  }
}

/** A sequence with plain groups (no quantifier, one alternative) opened up. */
function flatten(seq: Item[]): Item[] {
  return seq.flatMap((item) =>
    item.kind === 'group' && item.min === 1 && item.max === 1 && item.alts!.length === 1 ? flatten(item.alts![0]!) : [item],
  );
}

function hasVariable(item: Item): boolean {
  return item.min !== item.max || (item.alts?.flat().some(hasVariable) ?? false);
}

function seqLen(seq: Item[], len: (item: Item) => number): number {
  return seq.reduce((sum, item) => sum + len(item), 0);
}

function minLen(item: Item): number {
  if (item.kind === 'assert') return 0;
  const one = item.kind === 'group' ? Math.min(...item.alts!.map((alt) => seqLen(alt, minLen))) : 1;
  return one * item.min;
}

/** Longest match; with `reach`, look-aheads and \b count as read too. */
function maxLen(item: Item, reach: boolean): number {
  if (item.kind === 'assert') {
    if (!reach) return 0;
    if (!item.alts) return item.src === '^' || item.src === '$' ? 0 : 1;
    return item.behindLook ? 0 : Math.max(...item.alts.map((alt) => seqLen(alt, (i) => maxLen(i, reach))));
  }
  const one = item.kind === 'group' ? Math.max(...item.alts!.map((alt) => seqLen(alt, (i) => maxLen(i, reach)))) : 1;
  return one * (item.max === Infinity ? Math.max(REPEAT_CAP, item.min) : item.max);
}

/** Characters before the match a look-behind or \b may read (summed: an upper bound). */
function behindOf(item: Item): number {
  if (!item.alts) return item.src === '\\b' || item.src === '\\B' ? 1 : 0;
  const nested = item.alts.flat().reduce((sum, child) => sum + behindOf(child), 0);
  return item.behindLook ? nested + Math.max(...item.alts.map((alt) => seqLen(alt, (i) => maxLen(i, true)))) : nested;
}

function emit(item: Item): string {
  const atom = item.alts ? `${item.open}${item.alts.map((seq) => seq.map(emit).join('')).join('|')})` : item.src;
  const lazy = item.lazy ? '?' : '';
  if (item.min === 1 && item.max === 1) return atom;
  if (item.max === Infinity) return `${atom}{${item.min},${Math.max(item.min, REPEAT_CAP)}}${lazy}`;
  if (item.min === 0 && item.max === 1) return `${atom}?${lazy}`;
  return item.min === item.max ? `${atom}{${item.min}}${lazy}` : `${atom}{${item.min},${item.max}}${lazy}`;
}
