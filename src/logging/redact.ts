import type { GatewayConfig } from '../config/schema';
import { CREDENTIAL_SHAPES, partsSource, shapesOf, type CredentialShape } from '../core/credential-shapes';
import { secret, type Env } from '../env';

/**
 * Redaction for payload logs, applied to every string in a request and its answer
 * before anything is written: the values of the secrets the config names (caller
 * keys, provider credentials), the credential shapes (src/core/credential-shapes.ts),
 * then the operator's `log.redact_patterns`. Each match becomes `[redacted]`.
 */

export const REDACTED = '[redacted]';

/** A credential shape as a whole-text pattern: unbounded, and a token needs no boundary after it. */
function wholeTextSource(shape: CredentialShape): string {
  switch (shape.kind) {
    case 'private_key':
      return `${partsSource(shape.begin, 'logs')}[\\s\\S]*?(?:${partsSource(shape.end, 'logs')}|$)`;
    case 'bearer_token':
      // The scheme's name goes too: "Authorization: [redacted]".
      return `\\b(?:${shape.schemes.join('|')})\\s+[${shape.token.chars}=]{${shape.token.minInLogs ?? shape.token.min},}`;
    default:
      return `\\b${partsSource(shape.parts, 'logs')}`;
  }
}

/** One pattern per kind of credential, in catalog order; scheme names are case-insensitive (RFC 9110). */
const CREDENTIAL_PATTERNS: readonly RegExp[] = [...new Set(CREDENTIAL_SHAPES.map((shape) => shape.kind))].map(
  (kind) => new RegExp(shapesOf(kind).map(wholeTextSource).join('|'), kind === 'bearer_token' ? 'gi' : 'g'),
);

export type Redact = (text: string) => string;

const redactors = new WeakMap<GatewayConfig, Redact>();

/** The redaction for a config (built once per config). */
export function redactor(config: GatewayConfig, env: Env): Redact {
  let redact = redactors.get(config);
  if (!redact) {
    const values = [...secretNames(config)].map((name) => secret(env, name)).filter((v): v is string => v !== undefined && v.length >= 8);
    const patterns = [...CREDENTIAL_PATTERNS, ...config.log.redact_patterns.map((source) => new RegExp(source, 'g'))];
    redact = (text) => {
      let out = text;
      for (const value of values) if (out.includes(value)) out = out.split(value).join(REDACTED);
      for (const pattern of patterns) out = out.replace(pattern, REDACTED);
      return out;
    };
    redactors.set(config, redact);
  }
  return redact;
}

/** Every secret the config names: caller keys, and provider fields named `*_secret`. */
function secretNames(config: GatewayConfig): Set<string> {
  const names = new Set<string>();
  for (const key of Object.values(config.keys)) for (const name of key.secrets) names.add(name);
  for (const provider of Object.values(config.providers)) {
    for (const [field, value] of Object.entries(provider)) if (field.endsWith('_secret') && typeof value === 'string') names.add(value);
  }
  return names;
}

/** A JSON value with every string (object keys aside) redacted. */
export function redactJson(value: unknown, redact: Redact): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactJson(item, redact));
  if (typeof value === 'object' && value !== null) {
    // fromEntries defines own properties: a "__proto__" key stays a key.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactJson(v, redact)]));
  }
  return value;
}
