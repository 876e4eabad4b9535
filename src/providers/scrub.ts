import { apiKeyPrefixes, escapeLiteral } from '../core/credential-shapes';

/**
 * Upstream text is untrusted: an error body can quote internal URLs, credentials
 * or our own request back. What of it reaches a caller (or the operator's log)
 * goes through here first.
 */

const MAX_MESSAGE = 400;
/** What a request field path looks like: `messages[0].content`, `tools`. */
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\[\d{1,4}\]|\.[A-Za-z_][A-Za-z0-9_]*){0,8}$/;
/** A long unbroken run of letters and digits is a token (a key, a hash), never a word. */
const TOKEN_RUN = /[A-Za-z0-9+/=_-]{32,}/g;
/**
 * Key-shaped, however short or masked (`sk-abc***xyz`): the prefixes of the credential
 * shapes that end in `-` or `_` (src/core/credential-shapes.ts), either separator, or
 * key/api/token. Prefixes without a separator (AIza, AKIA, ASIA) are left to TOKEN_RUN:
 * read case-insensitively after a word boundary they would take "Asia-Pacific".
 */
const stems = apiKeyPrefixes().flatMap((prefix) => (/[-_]$/.test(prefix) ? [escapeLiteral(prefix.slice(0, -1))] : []));
const KEY_SHAPED = new RegExp(`\\b(?:${[...new Set([...stems, 'key', 'api', 'token'])].join('|')})[-_][A-Za-z0-9*_-]{6,}`, 'gi');

export function scrub(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const value of secrets) if (value && value.length >= 4) out = out.split(value).join('[redacted]');
  return out
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, '[url]')
    .replace(KEY_SHAPED, '[redacted]')
    .replace(/\bBearer\s+[^\s"']+/gi, 'Bearer [redacted]')
    .replace(TOKEN_RUN, '[redacted]')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, MAX_MESSAGE);
}

/** The upstream's param, only when it names a field and carries nothing else. */
export function fieldPath(value: unknown, credential: string | undefined): string | null {
  if (typeof value !== 'string' || value.length > 64 || !FIELD_PATH.test(value)) return null;
  if (/[A-Za-z0-9]{20,}/.test(value) || (credential && credential.length >= 4 && value.includes(credential))) return null;
  return scrub(value, [credential]) === value ? value : null;
}
