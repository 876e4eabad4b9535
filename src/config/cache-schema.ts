import { z } from 'zod';

/**
 * Response cache settings (docs/configuration.md, "Cache"). Gateway-wide under
 * `cache`, overridable per model alias under `models.<alias>.cache`.
 */

export const CacheRouteSchema = z.strictObject({
  enabled: z.boolean().optional(),
  /** Lifetime of an entry, seconds. */
  ttl_s: z.number().int().positive().max(365 * 86_400).optional(),
  /** Also cache requests with temperature > 0 (or unset: OpenAI's default is 1) or n > 1. */
  cache_nondeterministic: z.boolean().optional(),
  /** Also cache requests with fields the canonicalizer does not know (they may change the output). */
  cache_unknown_fields: z.boolean().optional(),
  /** Also store answers that stopped on `length` or `content_filter`. */
  cache_truncated: z.boolean().optional(),
  /**
   * `safe`: line endings unified, each text part trimmed. `collapse_whitespace`: also
   * runs of whitespace inside text become one space. Case and Unicode form never change.
   */
  normalize: z.enum(['safe', 'collapse_whitespace']).optional(),
});

export const CacheSettingsSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** Bump to purge everything: it is part of every key. */
    version: z.number().int().min(0).default(1),
    ttl_s: z.number().int().positive().max(365 * 86_400).default(3600),
    /** Bounds for a TTL asked for per request (x-gateway-cache-ttl, cf-aig-cache-ttl). */
    min_ttl_s: z.number().int().positive().default(1),
    max_ttl_s: z.number().int().positive().max(365 * 86_400).default(7 * 86_400),
    cache_nondeterministic: z.boolean().default(false),
    cache_unknown_fields: z.boolean().default(false),
    cache_truncated: z.boolean().default(false),
    normalize: z.enum(['safe', 'collapse_whitespace']).default('safe'),
    /** Entries larger than this are not stored (KV's value limit is 25 MiB). */
    max_entry_bytes: z.number().int().positive().max(25 * 1024 * 1024).default(1024 * 1024),
  })
  .refine((cache) => cache.min_ttl_s <= cache.max_ttl_s, { message: 'min_ttl_s must not exceed max_ttl_s', path: ['min_ttl_s'] });

export type CacheRoute = z.infer<typeof CacheRouteSchema>;
export type CacheSettings = z.infer<typeof CacheSettingsSchema>;
/** The settings that apply to one call: gateway-wide merged with the alias's. */
export type CachePolicy = Required<CacheRoute> & Pick<CacheSettings, 'version' | 'min_ttl_s' | 'max_ttl_s' | 'max_entry_bytes'>;
