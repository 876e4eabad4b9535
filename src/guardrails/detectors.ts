import {
  firstChars, partsChars, partsMaxLength, partsSource, shapesOf, type BlockShape, type SchemeShape, type SecretKind, type TokenShape,
} from '../core/credential-shapes';

/**
 * The built-in detectors of the `pii` and `secrets` guardrails. Every repeat is
 * bounded, so a detector costs at most its `reach` steps per position scanned
 * (safe-regex.ts explains why that matters). A detector says which characters a
 * match may contain (`inner`): a stream is held back only from the last character
 * outside that set, not a whole window (scanner.ts).
 */

export interface DetectorSpec {
  /** Typed placeholder name: redaction writes `[TYPE]`. */
  type: string;
  source: string;
  flags?: string;
  /** Characters from a match's start a match attempt may read. */
  reach: number;
  /** Characters before a match's start it may look at. */
  behind: number;
  /** A character a match may contain; absent when any may. */
  inner?: RegExp;
  /** A character a match may start with; absent when any inner one may. */
  first?: RegExp;
  /**
   * A checksum or structure test on the matched text: how much of it to keep (0:
   * none). A greedy match may have taken the next group of digits too ("card
   * 4111 … 1111 2024"): trailing groups are given back until the check passes.
   */
  valid?: (match: string) => number;
  /** A region: from the match to this end marker, or to the end of the text. */
  end?: { source: string; reach: number };
}

/** Luhn's mod-10 check (ISO/IEC 7812) on the digits of a card number. */
export function luhn(text: string): boolean {
  const digits = text.replace(/\D/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/** ISO 13616 IBAN check: country code and check digits moved to the end, letters as 10-35, mod 97 = 1. */
export function ibanValid(text: string): boolean {
  const iban = text.replace(/ /g, '');
  if (iban.length < 15 || iban.length > 34) return false;
  let rest = 0;
  for (const c of iban.slice(4) + iban.slice(0, 4)) {
    const code = c.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : c;
    for (const digit of value) rest = (rest * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return rest === 1;
}

/** RFC 4291 text forms: eight groups, or fewer with one `::`; an IPv4 tail counts as two. */
export function ipv6Valid(text: string): boolean {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = (half: string) => (half === '' ? [] : half.split(':'));
  const parts = halves.flatMap(groups);
  let count = parts.length;
  const last = parts[parts.length - 1];
  if (last?.includes('.')) count++;
  if (!parts.every((p, i) => /^[0-9A-Fa-f]{1,4}$/.test(p) || (i === parts.length - 1 && p.includes('.')))) return false;
  if (halves.length === 2) return count <= 7 && count >= 2;
  return count === 8;
}

/** The longest prefix, ending before a space (or the whole), that passes `check`; 0 when none does. */
function trimmed(check: (text: string) => boolean): (match: string) => number {
  return (match) => {
    for (let end = match.length; end > 0; end = match.lastIndexOf(' ', end - 1)) {
      if (check(match.slice(0, end))) return end;
    }
    return 0;
  };
}

const whole = (check: (text: string) => boolean) => (match: string) => (check(match) ? match.length : 0);

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';

export const PII_DETECTORS: Record<string, DetectorSpec> = {
  email: {
    type: 'EMAIL',
    source: '(?<![\\w.%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\\.[A-Za-z0-9-]{1,63}){0,3}\\.[A-Za-z]{2,24}(?![A-Za-z0-9-])',
    reach: 64 + 1 + 64 * 4 + 25 + 1,
    behind: 1,
    inner: /[A-Za-z0-9._%+@-]/,
  },
  phone: {
    type: 'PHONE',
    // International (+country …, 8-15 digits in groups) or North American (555) 123-4567 / 555-123-4567.
    source:
      '(?<![\\w+])(?:\\+\\d{1,3}[ .-]?(?:\\(\\d{1,4}\\)[ .-]?)?\\d{1,4}(?:[ .-]\\d{2,4}){1,4}|\\(\\d{3}\\) ?\\d{3}[ .-]\\d{4}|\\d{3}[.-]\\d{3}[.-]\\d{4})(?![\\w-]|\\.\\d)',
    reach: 40,
    behind: 1,
    inner: /[\d +().-]/,
    first: /[\d+(]/,
    valid: trimmed((m) => {
      const digits = m.replace(/\D/g, '').length;
      return digits >= 8 && digits <= 15;
    }),
  },
  credit_card: {
    type: 'CREDIT_CARD',
    source: '(?<![\\d-])\\d(?:[ -]?\\d){12,18}(?![\\d]|-\\d)',
    reach: 40,
    behind: 1,
    inner: /[\d -]/,
    first: /\d/,
    valid: trimmed(luhn),
  },
  iban: {
    type: 'IBAN',
    source: '(?<![A-Za-z0-9])[A-Z]{2}\\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])',
    reach: 45,
    behind: 1,
    inner: /[A-Z0-9 ]/,
    first: /[A-Z]/,
    valid: trimmed(ibanValid),
  },
  ip_address: {
    type: 'IP_ADDRESS',
    source: `(?<![\\w.:])(?:${OCTET}(?:\\.${OCTET}){3}(?![\\w.]*\\w)|(?=[0-9A-Fa-f]{0,4}:)(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|${OCTET}(?:\\.${OCTET}){3})?(?![\\w:.]))`,
    reach: 50,
    behind: 1,
    inner: /[0-9A-Fa-f:.]/,
    valid: whole((m) => !m.includes(':') || ipv6Valid(m)),
  },
};

/** A token stands alone: a near-miss glued into a longer word is not one. */
function tokenDetector(type: string, shapes: readonly TokenShape[]): DetectorSpec {
  const alternatives = shapes.map((shape) => shape.parts);
  return {
    type,
    source: `(?<![\\w-])(?:${alternatives.map((parts) => partsSource(parts, 'bounded')).join('|')})(?![\\w-])`,
    reach: Math.max(...alternatives.map(partsMaxLength)) + 1,
    behind: 1,
    inner: new RegExp(partsChars(alternatives.flat())),
    first: new RegExp(firstChars(alternatives)),
  };
}

/**
 * Only the token: "Bearer " stays, so prose streams on while a token is written.
 * A token may hold dots, but a sentence's full stop after it is not part of it.
 */
function schemeDetector(type: string, shapes: readonly SchemeShape[]): DetectorSpec {
  const sources = shapes.map(({ schemes, token }) => {
    const last = token.chars.replace('.', ''); // what a token may end with
    return `(?<=\\b(?:${schemes.join('|')})[ \\t]{1,4})[${token.chars}]{${token.min - 1},${token.max - 1}}[${last}]={0,2}(?![${last}=]|\\.[${last}=])`;
  });
  return {
    type,
    source: sources.join('|'),
    flags: 'i',
    // The token, its `=` padding, and the two characters the look-ahead reads.
    reach: Math.max(...shapes.map((shape) => shape.token.max)) + 2 + 2,
    behind: 1 + Math.max(...shapes.flatMap((shape) => shape.schemes.map((scheme) => scheme.length))) + 4,
    inner: new RegExp(`[${shapes.map((shape) => shape.token.chars).join('')}=]`),
  };
}

/** A region: from the BEGIN line to the END line, or to the end of the text. */
function blockDetector(type: string, shapes: readonly BlockShape[]): DetectorSpec {
  return {
    type,
    source: shapes.map((shape) => partsSource(shape.begin, 'bounded')).join('|'),
    reach: Math.max(...shapes.map((shape) => partsMaxLength(shape.begin))),
    behind: 0,
    inner: new RegExp(partsChars(shapes.flatMap((shape) => shape.begin))),
    first: new RegExp(firstChars(shapes.map((shape) => shape.begin))),
    end: {
      source: shapes.map((shape) => partsSource(shape.end, 'bounded')).join('|'),
      reach: Math.max(...shapes.map((shape) => partsMaxLength(shape.end))),
    },
  };
}

/** The credential shapes (src/core/credential-shapes.ts), bounded, as one detector per kind. */
export const SECRET_DETECTORS: Record<SecretKind, DetectorSpec> = {
  api_key: tokenDetector('API_KEY', shapesOf('api_key')),
  bearer_token: schemeDetector('BEARER_TOKEN', shapesOf('bearer_token')),
  jwt: tokenDetector('JWT', shapesOf('jwt')),
  private_key: blockDetector('PRIVATE_KEY', shapesOf('private_key')),
};

export type PiiType = keyof typeof PII_DETECTORS;
export type SecretType = keyof typeof SECRET_DETECTORS;
