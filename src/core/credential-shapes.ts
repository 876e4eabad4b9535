/**
 * Credentials by shape: what a prompt, an answer or an upstream error may quote by
 * mistake. One catalog; each consumer compiles it its own way:
 *
 * - payload-log redaction (src/logging/redact.ts) reads whole texts: it drops the
 *   upper bounds and the trailing boundary (a longer or glued-on credential goes too),
 *   and takes the shorter `minInLogs` where a shape has one;
 * - the `secrets` guardrail (src/guardrails/detectors.ts) scans streams: it keeps the
 *   bounds (they cap how much text it holds back) and both boundaries;
 * - upstream error scrubbing (src/providers/scrub.ts) takes the token prefixes into
 *   its own coarser key rule.
 *
 * A shape added here is redacted in payload logs and found by the `secrets`
 * guardrail (test/credentials-redacted-and-flagged.test.ts holds a sample of each).
 */

/** The `secrets` guardrail detector that reports a shape (its placeholder is the upper-cased name). */
export type SecretKind = 'api_key' | 'bearer_token' | 'jwt' | 'private_key';

/** A run of characters: `chars` is the body of a regex character class (a literal `-` escaped). */
export interface Run {
  chars: string;
  min: number;
  /** The longest a real one gets, with room to spare: the guardrail holds back at most this much. */
  max: number;
  /**
   * Logs redact from this length: a false match there costs nothing, while the
   * guardrail, which may block a call, leaves prose like "Bearer authentication".
   */
  minInLogs?: number;
}

/** Literal alternatives (one of them), or a run. */
export type Part = readonly string[] | Run;

/** A token: a prefix, then runs and literal separators (`sk-…`, `eyJ….eyJ….…`). */
export interface TokenShape {
  name: string;
  kind: 'api_key' | 'jwt';
  /** The first part holds literals: every token starts with one of them. */
  parts: readonly Part[];
}

/** A credential after an HTTP authentication scheme's name (`Authorization: Bearer …`). */
export interface SchemeShape {
  name: string;
  kind: 'bearer_token';
  schemes: readonly string[];
  /** The token's characters, `=` padding aside (RFC 6750 b64token). */
  token: Run;
}

/** A block from its BEGIN line to its END line, or to the end of the text when it has none. */
export interface BlockShape {
  name: string;
  kind: 'private_key';
  begin: readonly Part[];
  end: readonly Part[];
}

export type CredentialShape = TokenShape | SchemeShape | BlockShape;

const run = (chars: string, min: number, max: number, minInLogs?: number): Run => ({ chars, min, max, minInLogs });
const ALNUM = 'A-Za-z0-9';
const BASE64URL = 'A-Za-z0-9_\\-';
/** PEM (RFC 7468) private keys of any algorithm, encrypted ones, and PGP's `PRIVATE KEY BLOCK`. */
const pemLine = (word: string): Part[] => [[`-----${word} `], run('A-Z0-9 ', 0, 40), ['PRIVATE KEY'], [' BLOCK', ''], ['-----']];

export const CREDENTIAL_SHAPES: readonly CredentialShape[] = [
  { name: 'pem_private_key', kind: 'private_key', begin: pemLine('BEGIN'), end: pemLine('END') },
  { name: 'authorization', kind: 'bearer_token', schemes: ['Bearer', 'Basic'], token: run('A-Za-z0-9._~+/\\-', 16, 400, 8) },
  // OpenAI (sk-, sk-proj-), Anthropic (sk-ant-), and other sk-/rk-/pk- style keys.
  { name: 'sk_style_key', kind: 'api_key', parts: [['sk-', 'rk-', 'pk-'], run(BASE64URL, 20, 160, 16)] },
  { name: 'google_api_key', kind: 'api_key', parts: [['AIza'], run(BASE64URL, 35, 35)] },
  { name: 'hugging_face_token', kind: 'api_key', parts: [['hf_'], run(ALNUM, 30, 60)] },
  { name: 'groq_key', kind: 'api_key', parts: [['gsk_'], run(ALNUM, 20, 100)] },
  { name: 'xai_key', kind: 'api_key', parts: [['xai-'], run(ALNUM, 20, 120)] },
  { name: 'replicate_token', kind: 'api_key', parts: [['r8_'], run(ALNUM, 20, 100)] },
  { name: 'perplexity_key', kind: 'api_key', parts: [['pplx-'], run(ALNUM, 20, 100)] },
  { name: 'aws_access_key_id', kind: 'api_key', parts: [['AKIA', 'ASIA'], run('0-9A-Z', 16, 16)] },
  { name: 'github_token', kind: 'api_key', parts: [['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'], run(ALNUM, 36, 80)] },
  { name: 'github_fine_grained_token', kind: 'api_key', parts: [['github_pat_'], run('A-Za-z0-9_', 22, 160)] },
  { name: 'slack_token', kind: 'api_key', parts: [['xoxa-', 'xoxb-', 'xoxp-', 'xoxo-', 'xoxs-', 'xoxr-'], run('A-Za-z0-9\\-', 10, 160)] },
  { name: 'jwt', kind: 'jwt', parts: [['eyJ'], run(BASE64URL, 8, 400), ['.eyJ'], run(BASE64URL, 8, 800), ['.'], run(BASE64URL, 8, 400)] },
];

const isRun = (part: Part): part is Run => !Array.isArray(part);
export const escapeLiteral = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const escapeInClass = (text: string) => text.replace(/[\\\]^[-]/g, '\\$&');

/**
 * The parts as regex source. `bounded` for a stream's scanner; `logs` for whole
 * texts, where a run goes on (there is no window to fit) and may be shorter.
 */
export function partsSource(parts: readonly Part[], use: 'bounded' | 'logs'): string {
  return parts
    .map((part) => {
      if (isRun(part)) return use === 'bounded' ? `[${part.chars}]{${part.min},${part.max}}` : `[${part.chars}]{${part.minInLogs ?? part.min},}`;
      return part.length === 1 ? escapeLiteral(part[0]!) : `(?:${part.map(escapeLiteral).join('|')})`;
    })
    .join('');
}

/** The most characters the parts can match. */
export function partsMaxLength(parts: readonly Part[]): number {
  return parts.reduce((sum, part) => sum + (isRun(part) ? part.max : Math.max(...part.map((literal) => literal.length))), 0);
}

/** A character class of every character the parts can match. */
export function partsChars(parts: readonly Part[]): string {
  const literals = new Set(parts.flatMap((part) => (isRun(part) ? [] : [...part.join('')])));
  return `[${parts.filter(isRun).map((part) => part.chars).join('')}${escapeInClass([...literals].join(''))}]`;
}

/** A character class of the characters a match of any of the alternatives starts with. */
export function firstChars(alternatives: readonly (readonly Part[])[]): string {
  const runs = new Set<string>();
  const literals = new Set<string>();
  for (const parts of alternatives) {
    const first = parts[0]!;
    if (isRun(first)) runs.add(first.chars);
    else for (const literal of first) literals.add(literal[0]!);
  }
  return `[${[...runs].join('')}${escapeInClass([...literals].join(''))}]`;
}

/** The catalog's shapes of one kind, in catalog order. */
export function shapesOf<K extends SecretKind>(kind: K): Extract<CredentialShape, { kind: K }>[] {
  return CREDENTIAL_SHAPES.filter((shape): shape is Extract<CredentialShape, { kind: K }> => shape.kind === kind);
}

/** The literal prefixes API keys start with (`sk-`, `AIza`, `ghp_`, …). */
export function apiKeyPrefixes(): string[] {
  return shapesOf('api_key').flatMap(({ parts }) => {
    const first = parts[0]!;
    return isRun(first) ? [] : [...first];
  });
}
