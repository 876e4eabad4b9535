import { ExpiringMap } from './expiring-map';

/**
 * A byte-identical repeat of a request skips canonicalization and hashing (issue 11):
 * the isolate remembers the cache key a body's exact text was given, under every
 * other input of that key (`context`: the route's cache policy, which fixes the
 * config's cache version, the normalization level and the route fingerprint; the
 * endpoint; the scope with its guardrail variant; a custom key). It can only ever
 * answer what canonical.ts would: the same text parses to the same body, and the
 * context holds everything else the key is made of.
 *
 * The texts are prompts, so they are held briefly and in bounded space: each for
 * at most KEY_MEMO_TTL_MS (a hot body is keyed afresh once a minute), oldest out
 * first past KEY_MEMO_MAX_BYTES, and a body over KEY_MEMO_MAX_TEXT never (its key is
 * computed every time).
 */

export const KEY_MEMO_TTL_MS = 60_000;
export const KEY_MEMO_MAX_BYTES = 4 * 1024 * 1024;
export const KEY_MEMO_MAX_TEXT = KEY_MEMO_MAX_BYTES / 16;

/** context + body text → its cache key. */
const keys = new ExpiringMap<string, string>(KEY_MEMO_TTL_MS, KEY_MEMO_MAX_BYTES);

export function recallKey(context: string, text: string, now: number): string | undefined {
  return text.length > KEY_MEMO_MAX_TEXT ? undefined : keys.get(context + text, now);
}

export function rememberKey(context: string, text: string, key: string, now: number): void {
  if (text.length > KEY_MEMO_MAX_TEXT) return;
  const id = context + text;
  keys.set(id, key, id.length + key.length, now);
}

/** How many keys are held (tests). */
export function memoizedKeys(): number {
  return keys.count;
}
