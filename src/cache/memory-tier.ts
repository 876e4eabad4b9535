import type { CacheEntry } from './entry';

/**
 * The isolate's copy of recently stored or read entries, in front of KV: a hit
 * served from here costs no KV read (the slowest part of a hit). Bounded by
 * total size (least recently used first out), and an entry is kept at most
 * MEMORY_TTL_MS and never past its own expiry. KV itself takes up to 60 s to show
 * a write or a delete everywhere, so a copy that may be that old adds no new kind
 * of staleness: an operator's purge of one key reaches every isolate within it.
 */

const MEMORY_TTL_MS = 60_000;
const MAX_BYTES = 16 * 1024 * 1024;

interface Held {
  entry: CacheEntry;
  bytes: number;
  until: number;
}

const held = new Map<string, Held>();
let bytes = 0;

export function recall(key: string, now: number): CacheEntry | undefined {
  const found = held.get(key);
  if (!found) return undefined;
  held.delete(key);
  if (found.until <= now) {
    bytes -= found.bytes;
    return undefined;
  }
  held.set(key, found); // most recently used last
  return found.entry;
}

/** `size`: the entry's stored JSON length, the measure of what it holds. */
export function remember(key: string, entry: CacheEntry, size: number, now: number): void {
  if (size > MAX_BYTES / 16) return;
  forget(key);
  held.set(key, { entry, bytes: size, until: Math.min(entry.expiresAt, now + MEMORY_TTL_MS) });
  bytes += size;
  for (const [oldest, value] of held) {
    if (bytes <= MAX_BYTES) break;
    held.delete(oldest);
    bytes -= value.bytes;
  }
}

function forget(key: string): void {
  const found = held.get(key);
  if (!found) return;
  held.delete(key);
  bytes -= found.bytes;
}
