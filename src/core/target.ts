import type { ProviderSettings } from '../config/provider-schema';
import type { RetrySettings, RoutingSettings, Strategy, Timeouts } from '../config/routing-schema';

/** One configured place a model can be served from. */
export interface Target<C extends ProviderSettings = ProviderSettings> {
  /** Provider name from the config (not its kind). */
  provider: string;
  /** Its `providers.<name>`: the common fields for everyone, the kind's own for its provider (providers/). */
  config: C;
  /** The model id this provider knows. */
  model: string;
  /** `provider/model`: names the target in health, logs and prices. */
  id: string;
  /** Share of its tier's traffic. */
  weight: number;
  timeouts: Timeouts;
  /** Cap on a non-streamed answer's body (the provider's `max_response_bytes`, else the gateway's). */
  maxResponseBytes: number;
  /** `routing.breaker` with the provider's overrides. */
  breaker: RoutingSettings['breaker'];
}

/** A model as the caller named it, resolved to the targets that may serve it (routing/resolve.ts). */
export interface Route {
  /** What the caller asked for. */
  model: string;
  /** Set when the model is a direct `provider/model` address. */
  provider?: string;
  /** Tried in order; the targets of one tier share its traffic by `strategy`. */
  tiers: Target[][];
  /** Every target of every tier, in order (pricing, cache fingerprint). */
  targets: Target[];
  strategy: Strategy;
  retry: RetrySettings;
  /** Upstream statuses that move to the next target at once. */
  failoverOn: ReadonlySet<number>;
}
