import { z } from 'zod';

/**
 * Limits and prices (docs/configuration.md, "Limits"). Each limit is optional;
 * a key with no rule after merging defaults never calls the limiter at all.
 */

const count = z.number().int().positive();
const usd = z.number().positive().max(1e9);

export const RequestWindowSchema = z.strictObject({
  limit: count,
  /** Sliding window: never more than `limit` in ANY `window_s` seconds. */
  window_s: z.number().positive().max(31 * 86_400),
});

export const KeyLimitsSchema = z.strictObject({
  /** Several windows at once: e.g. a burst rule (20 per 10 s) and a sustained one (1,000 per hour). */
  requests: z.array(RequestWindowSchema).max(4).optional(),
  /** Prompt + completion tokens in any 60 s. */
  tokens_per_minute: count.optional(),
  /** Calls in flight at once, streams included. */
  concurrency: count.optional(),
  budget_usd: z.strictObject({ daily: usd.optional(), monthly: usd.optional() }).optional(),
});

/** A fleet-wide rule for one model, shared by all keys (its own limiter object). */
export const ModelLimitsSchema = KeyLimitsSchema.omit({ budget_usd: true });

/**
 * A key's rule for one model: applies in addition to the key's own rules.
 * Concurrency is per key or per fleet model only: leases are counted per object.
 */
export const KeyModelLimitsSchema = KeyLimitsSchema.omit({ budget_usd: true, concurrency: true });

export const PriceSchema = z.strictObject({
  input_per_mtok: z.number().min(0),
  output_per_mtok: z.number().min(0),
  /** Price of prompt tokens served from the provider's prompt cache; defaults to the input price. */
  cached_input_per_mtok: z.number().min(0).optional(),
  /** Price of prompt tokens written to the provider's prompt cache (Anthropic bills them above input); defaults to the input price. */
  cache_write_input_per_mtok: z.number().min(0).optional(),
});

export const LimitsSettingsSchema = z.strictObject({
  /** Applied field by field to every key that does not set the field itself. */
  defaults: KeyLimitsSchema.default({}),
  /** Fleet-wide rules per model, shared by all keys (keeps an upstream account under its quota). */
  models: z.record(z.string().min(1), ModelLimitsSchema).default({}),
  /** Completion tokens reserved when a request sets no max_tokens. */
  default_max_tokens: count.default(4096),
  /**
   * Prompt bytes per reserved token. 1 reserves an upper bound (a token is at least
   * one UTF-8 byte), so limits are never overshot by prompts; 4 approximates English.
   */
  prompt_bytes_per_token: z.number().min(1).max(8).default(1),
  /**
   * Prompt tokens reserved per image. No one figure bounds every model (gpt-4o bills at
   * most 1,445 per high-detail image, gpt-4.1-nano 3,779, gpt-4o-mini up to ~48,000):
   * raise it for models that bill more (README, "Limits and budgets").
   */
  image_tokens: count.default(4096),
  /**
   * Price of any served model missing from `prices`. Unset: such a model has no price,
   * its cost is not logged, and keys with a budget may not call it (403 model_not_priced).
   */
  default_price: PriceSchema.optional(),
  /** A concurrency lease not released by then stops counting (a crashed isolate). */
  lease_s: z.number().int().positive().max(86_400).default(900),
  /** When the limiter cannot be reached: refuse with 503 (closed) or admit unlimited (open). */
  on_unavailable: z.enum(['closed', 'open']).default('closed'),
  /** How long to wait for the limiter before applying `on_unavailable`. */
  timeout_ms: z.number().int().positive().max(30_000).default(2000),
  /** Failed authentications per client IP before answering 429 (brute-force guard). */
  auth_failures: z
    .strictObject({ limit: count, window_s: z.number().positive().max(86_400) })
    .default({ limit: 20, window_s: 300 }),
});

export type KeyLimits = z.infer<typeof KeyLimitsSchema>;
export type ModelLimits = z.infer<typeof ModelLimitsSchema>;
export type LimitsSettings = z.infer<typeof LimitsSettingsSchema>;
export type Price = z.infer<typeof PriceSchema>;
