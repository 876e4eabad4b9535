/**
 * A map for the cache's per-isolate shortcuts (key-memo.ts, serve.ts): each value
 * lives `ttlMs` from when it was set, and the values' total size stays under
 * `maxBytes`, oldest out first (insertion order is expiry order, so both bounds
 * are kept by dropping from the front). Expired values go at the next call that
 * touches the map; a value over a sixteenth of the bound is never held.
 */
export class ExpiringMap<K, V> {
  private readonly held = new Map<K, { value: V; size: number; until: number }>();
  private bytes = 0;

  constructor(
    private readonly ttlMs: number,
    readonly maxBytes: number,
  ) {}

  get(key: K, now: number): V | undefined {
    this.sweep(now);
    return this.held.get(key)?.value;
  }

  /** `size`: what the value holds, in the unit of maxBytes (UTF-16 code units for text). */
  set(key: K, value: V, size: number, now: number): void {
    this.delete(key);
    if (size > this.maxBytes / 16) return;
    this.held.set(key, { value, size, until: now + this.ttlMs });
    this.bytes += size;
    this.sweep(now);
  }

  /** How many values are held. */
  get count(): number {
    return this.held.size;
  }

  private delete(key: K): void {
    const found = this.held.get(key);
    if (!found) return;
    this.held.delete(key);
    this.bytes -= found.size;
  }

  private sweep(now: number): void {
    for (const [key, found] of this.held) {
      if (found.until > now && this.bytes <= this.maxBytes) return;
      this.held.delete(key);
      this.bytes -= found.size;
    }
  }
}
