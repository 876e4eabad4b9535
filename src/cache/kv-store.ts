import type { CacheEntry } from './entry';
import { recall, remember } from './memory-tier';

/**
 * KV access for the cache. KV is a best-effort store here: a failed or slow read
 * is a miss and a failed write is forgotten; neither ever fails a call. Writes run
 * in waitUntil. KV accepts one write per second per key, so an isolate never
 * writes a key it wrote less than a second ago; entries expire in KV no sooner
 * than its 60 s minimum, and are checked against their own expiry on read. The
 * isolate keeps what it stored or read in front of KV for a while (memory-tier.ts).
 */

const KV_MIN_TTL_S = 60;
const WRITE_GAP_MS = 1000;
const recentWrites = new Map<string, number>();
const encoder = new TextEncoder();

/** Over `maxBytes` as UTF-8? Encoded only when it could be: a UTF-16 unit is at most 3 bytes. */
function overBytes(text: string, maxBytes: number): boolean {
  return text.length * 3 > maxBytes && encoder.encode(text).byteLength > maxBytes;
}

export async function readEntry(kv: KVNamespace | undefined, key: string, now: number): Promise<CacheEntry | undefined> {
  if (!kv) return undefined;
  const known = recall(key, now);
  if (known) return known;
  try {
    const text = await kv.get(key, 'text');
    if (text === null) return undefined;
    const entry = JSON.parse(text) as CacheEntry;
    if (!entry || entry.format !== 1 || entry.expiresAt <= now) return undefined;
    remember(key, entry, text.length, now);
    return entry;
  } catch (error) {
    console.error(`cache read failed (treated as a miss): ${String(error)}`);
    return undefined;
  }
}

/** Returns the write to hand to waitUntil, or undefined when nothing is written. */
export function writeEntry(kv: KVNamespace | undefined, key: string, entry: CacheEntry, maxBytes: number): Promise<void> | undefined {
  if (!kv) return undefined;
  const now = Date.now();
  const last = recentWrites.get(key);
  if (last !== undefined && now - last < WRITE_GAP_MS) return undefined;
  const value = JSON.stringify(entry);
  if (overBytes(value, maxBytes)) return undefined;
  recentWrites.set(key, now);
  if (recentWrites.size > 10_000) {
    for (const [k, at] of recentWrites) if (now - at >= WRITE_GAP_MS) recentWrites.delete(k);
  }
  const ttl = Math.max(KV_MIN_TTL_S, Math.ceil((entry.expiresAt - now) / 1000));
  return kv.put(key, value, { expirationTtl: ttl }).then(
    () => remember(key, entry, value.length, Date.now()),
    (error: unknown) => {
      console.error(`cache write failed (entry skipped): ${String(error)}`);
    },
  );
}
