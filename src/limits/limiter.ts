import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';

/**
 * Per-key limiter (requests, tokens, concurrency, spend). Declared now so the
 * deployed Worker already carries its SQLite-backed class and migration; the
 * admission logic arrives with the limits issue. It admits everything until then.
 */
export class Limiter extends DurableObject<Env> {
  async admit(): Promise<{ admitted: true }> {
    return { admitted: true };
  }
}
