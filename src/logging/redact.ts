import type { GatewayConfig } from '../config/schema';
import { secret, type Env } from '../env';

/**
 * Redaction for payload logs, applied to every string in a request and its answer
 * before anything is written: the values of the secrets the config names (caller
 * keys, provider credentials), credential shapes (below), then the operator's
 * `log.redact_patterns`. Each match becomes `[redacted]`.
 */

export const REDACTED = '[redacted]';

/** Credentials by shape: what a prompt or an answer may quote by mistake. */
const CREDENTIAL_SHAPES: readonly RegExp[] = [
  // PEM private keys (RSA, EC, OPENSSH, PKCS#8, encrypted), an unterminated one to the end.
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
  // Authorization header values.
  /\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  // OpenAI (sk-, sk-proj-), Anthropic (sk-ant-), and other sk-/rk-/pk- style keys.
  /\b(?:sk|rk|pk)-[A-Za-z0-9_-]{16,}/g,
  // Google API keys.
  /\bAIza[0-9A-Za-z_-]{35}/g,
  // Hugging Face, Groq, xAI, Replicate, Perplexity tokens.
  /\b(?:hf_[A-Za-z0-9]{30,}|gsk_[A-Za-z0-9]{20,}|xai-[A-Za-z0-9]{20,}|r8_[A-Za-z0-9]{20,}|pplx-[A-Za-z0-9]{20,})/g,
  // AWS access key ids; GitHub and Slack tokens.
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g,
  /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|xox[abposr]-[A-Za-z0-9-]{10,})/g,
  // JSON Web Tokens.
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
];

export type Redact = (text: string) => string;

const redactors = new WeakMap<GatewayConfig, Redact>();

/** The redaction for a config (built once per config). */
export function redactor(config: GatewayConfig, env: Env): Redact {
  let redact = redactors.get(config);
  if (!redact) {
    const values = [...secretNames(config)].map((name) => secret(env, name)).filter((v): v is string => v !== undefined && v.length >= 8);
    const patterns = [...CREDENTIAL_SHAPES, ...config.log.redact_patterns.map((source) => new RegExp(source, 'g'))];
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
