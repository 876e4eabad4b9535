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
 * computed every time). Expired texts go at the next call that looks here.
 */

export const KEY_MEMO_TTL_MS = 60_000;
export const KEY_MEMO_MAX_BYTES = 4 * 1024 * 1024;
export const KEY_MEMO_MAX_TEXT = KEY_MEMO_MAX_BYTES / 16;

interface Held {
  key: string;
  until: number;
}

/** context + body text → its cache key; in insertion order, which is expiry order. */
const held = new Map<string, Held>();
let bytes = 0;

const size = (id: string, entry: Held) => id.length + entry.key.length;

/** Drops expired entries, then the oldest while over the bound. */
function sweep(now: number): void {
  for (const [id, entry] of held) {
    if (entry.until > now && bytes <= KEY_MEMO_MAX_BYTES) return;
    held.delete(id);
    bytes -= size(id, entry);
  }
}

export function recallKey(context: string, text: string, now: number): string | undefined {
  sweep(now);
  if (text.length > KEY_MEMO_MAX_TEXT) return undefined;
  return held.get(context + text)?.key;
}

export function rememberKey(context: string, text: string, key: string, now: number): void {
  if (text.length > KEY_MEMO_MAX_TEXT) return;
  const id = context + text;
  const old = held.get(id);
  if (old) {
    held.delete(id);
    bytes -= size(id, old);
  }
  const entry = { key, until: now + KEY_MEMO_TTL_MS };
  held.set(id, entry);
  bytes += size(id, entry);
  sweep(now);
}

/** How many keys are held (tests). */
export function memoizedKeys(): number {
  return held.size;
}
