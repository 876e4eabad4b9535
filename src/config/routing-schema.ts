import { z } from 'zod';

/**
 * Resilience settings (docs/configuration.md, "Routing"): timeouts, retries, failover,
 * the retry budget, circuit breakers. Gateway-wide under `routing`; `retry`,
 * `failover_on` and `strategy` can be set per model alias.
 */

const milliseconds = z.number().int().positive().max(3_600_000);

export const TimeoutsSchema = z.strictObject({
  /** Until the upstream's response headers (or, for the demo, its first event). */
  first_byte_ms: milliseconds.default(30_000),
  /** Between two data events of a stream. */
  idle_ms: milliseconds.default(30_000),
  /** The whole upstream call, stream included. */
  total_ms: milliseconds.default(600_000),
});

/** Within a tier: `weighted` (random by weight) or `latency` (lowest recent latency first). */
export const StrategySchema = z.enum(['weighted', 'latency']);

export const RetrySchema = z.strictObject({
  /** Retries of one target after its first attempt (so attempts = 1 + retries). */
  retries: z.number().int().min(0).max(10),
  /** Full-jitter exponential backoff: wait = random(0, min(cap_ms, base_ms × 2^n)). */
  base_ms: z.number().int().min(0).max(60_000),
  cap_ms: z.number().int().min(0).max(600_000),
});

export const RoutingSettingsSchema = z.strictObject({
  retry: RetrySchema.default({ retries: 2, base_ms: 200, cap_ms: 5000 }),
  /** One deadline for every attempt of a call, stream included. */
  deadline_ms: z.number().int().positive().max(3_600_000).default(600_000),
  /** A provider's retry-after above this is not waited for: the next target is tried at once. */
  max_retry_after_ms: z.number().int().min(0).max(600_000).default(30_000),
  /**
   * The longest one provider answer (its retry-after, x-ratelimit-reset-*) may block
   * a target fleet-wide; longer asks are cut to this, absurd ones (over a day) ignored.
   */
  max_backoff_ms: z.number().int().min(0).max(3_600_000).default(60_000),
  /**
   * Envoy's panic threshold: when targets left out by their breakers would leave a
   * model with fewer than this share of its targets callable (or none), the
   * answering-but-failing ones are called anyway, least-bad first. Unreachable
   * targets and providers' back-offs are never overridden.
   */
  panic_threshold: z.number().min(0).max(1).default(0.5),
  /** Upstream statuses that move to the next target at once, without retrying this one. */
  failover_on: z.array(z.number().int().min(400).max(599)).default([401, 403]),
  /** Extra attempts (retries and failovers) allowed per first attempt over a recent window, per isolate. */
  retry_budget: z
    .strictObject({
      ratio: z.number().min(0).max(10),
      min_per_window: z.number().int().min(0),
      window_s: z.number().int().positive().max(3600),
    })
    .default({ ratio: 0.2, min_per_window: 10, window_s: 10 }),
  breaker: z
    .strictObject({
      failures: z.number().int().positive().max(1_000_000),
      cooldown_ms: z.number().int().positive().max(3_600_000),
      jitter: z.number().min(0).max(1),
      probe_lease_ms: z.number().int().positive().max(600_000),
    })
    .default({ failures: 5, cooldown_ms: 30_000, jitter: 0.2, probe_lease_ms: 30_000 }),
  /**
   * `/v1/messages` and `/v1/responses` calls whose model routes to exactly one target
   * of the same API (Anthropic; OpenAI) go to it natively, untranslated (passthrough/native.ts).
   */
  native_forwarding: z.boolean().default(true),
  /** How old an isolate's copy of the fleet's target health may get before a background refresh. */
  health_cache_ms: z.number().int().min(0).max(60_000).default(1000),
});

export const WeightedTargetSchema = z.strictObject({
  provider: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/),
  /** The model id the provider knows (may contain slashes: Hugging Face ids do). */
  model: z.string().min(1),
  /** Share of a tier's traffic (weighted strategy). */
  weight: z.number().positive().max(1000).default(1),
});

export type RoutingSettings = z.infer<typeof RoutingSettingsSchema>;
export type RetrySettings = z.infer<typeof RetrySchema>;
export type Timeouts = z.infer<typeof TimeoutsSchema>;
export type Strategy = z.infer<typeof StrategySchema>;
