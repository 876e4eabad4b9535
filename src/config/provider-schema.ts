import { z } from 'zod';
import { baseUrlProblem } from './base-url';
import { RoutingSettingsSchema, TimeoutsSchema } from './routing-schema';

/**
 * `providers.<name>`: the fields every provider kind has, read by routing, limits
 * and the cache. Each kind adds its own and declares its schema in its own file
 * (src/providers/<kind>.ts); src/providers/registry.ts joins them on `kind`.
 */

export const secretName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of a Worker secret (letters, digits, _)');

export const providerFields = {
  /** Name of the Worker secret that holds this provider's credential. */
  api_key_secret: secretName.optional(),
  /**
   * What one of this provider's 429 waits blocks: `model` (the target, provider +
   * model: OpenAI and most providers limit per model) or `provider` (every model of
   * this provider: one account-wide limit).
   */
  rate_limit_scope: z.enum(['model', 'provider']).default('model'),
  timeouts: TimeoutsSchema.partial().default({}),
  /** Overrides the gateway-wide `max_response_bytes` for this provider. */
  max_response_bytes: z.number().int().positive().max(256 * 1024 * 1024).optional(),
  /** Overrides `routing.breaker` for this provider's targets. */
  breaker: RoutingSettingsSchema.shape.breaker.unwrap().partial().optional(),
};

/**
 * A provider's config as the rest of the gateway sees it: the common fields typed,
 * a kind's own fields present but unknown (a provider narrows them to its schema).
 * Only a type: configs are parsed by the kinds' own schemas.
 */
const ProviderSettingsSchema = z.looseObject({ kind: z.string(), ...providerFields });
export type ProviderSettings = z.infer<typeof ProviderSettingsSchema>;

/** For kinds that call a URL of the operator's choosing. */
export const httpUrl = z.url({ protocol: /^https?$/ });
export const allowPrivateNetwork = {
  /**
   * Allows the kind's URLs on loopback, private, link-local or metadata addresses
   * (src/config/base-url.ts): local development, self-hosted vLLM. Absent means false.
   */
  allow_private_network: z.boolean().optional(),
};

/** Refuses each of `fields` that points where the provider may not (base-url.ts), unless the provider allows private networks. */
export function checkUrls<T extends { allow_private_network?: boolean | undefined }>(fields: readonly (keyof T & string)[]) {
  return (provider: T, ctx: z.RefinementCtx): void => {
    for (const field of fields) {
      const url = provider[field];
      const problem = typeof url === 'string' && baseUrlProblem(url, provider.allow_private_network === true);
      if (problem) ctx.addIssue({ code: 'custom', path: [field], message: problem });
    }
  };
}
