import { z } from 'zod';
import { CacheRouteSchema, CacheSettingsSchema } from './cache-schema';
import { RetrySchema, RoutingSettingsSchema, StrategySchema, TimeoutsSchema, WeightedTargetSchema } from './routing-schema';
import { KeyLimitsSchema, KeyModelLimitsSchema, LimitsSettingsSchema, PriceSchema } from './limits-schema';
import { LogSettingsSchema, MetadataSchema } from './log-schema';
import { GuardrailNamesSchema, GuardrailSchema } from './guardrails-schema';
import { secretName } from './provider-schema';
import { ProviderConfigSchema, providerFor } from '../providers/registry';

/**
 * The operator's configuration: the `GATEWAY_CONFIG` var in wrangler.toml (a TOML
 * table, or a JSON string from `.dev.vars`). Documented field by field in
 * docs/configuration.md. Every type in the gateway that describes configuration is
 * inferred from here, or from the schemas this one is made of (a provider kind's
 * own fields are declared in its file: src/providers/registry.ts).
 */

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'must be 1-64 letters, digits, or _ . : - ');

export const TargetSchema = WeightedTargetSchema;

export const ModelSchema = z
  .strictObject({
    /** An ordered failover list: each target is its own tier. */
    targets: z.array(TargetSchema).min(1).optional(),
    /** Or tiers tried in order, each balancing its targets by `strategy`. */
    tiers: z.array(z.strictObject({ targets: z.array(TargetSchema).min(1) })).min(1).optional(),
    /** Within a tier: `weighted` (random by weight) or `latency` (lowest recent latency first). */
    strategy: StrategySchema.default('weighted'),
    retry: RetrySchema.partial().optional(),
    failover_on: z.array(z.number().int().min(400).max(599)).optional(),
    description: z.string().optional(),
    cache: CacheRouteSchema.optional(),
    /** Forward same-API calls natively (passthrough/native.ts); unset: `routing.native_forwarding`. */
    native: z.boolean().optional(),
    /** Store the request and answer of every call to this alias (payload logs, README). */
    log_payloads: z.boolean().default(false),
    /** Guardrails for every call of this alias (names in `guardrails`), besides the key's and the default ones. */
    guardrails: GuardrailNamesSchema.optional(),
  })
  .superRefine((model, ctx) => {
    if (!model.targets === !model.tiers) {
      ctx.addIssue({ code: 'custom', path: ['targets'], message: 'set exactly one of `targets` (a failover list) or `tiers`' });
    }
  })
  .transform((model) => ({
    ...model,
    /** Normalized: a flat `targets` list is one tier per target. */
    tiers: model.tiers ?? (model.targets ?? []).map((target) => ({ targets: [target] })),
  }));

export const KeySchema = z.strictObject({
  /**
   * Names of Worker secrets holding this key's value. Any of them is accepted, so a
   * key rotates without downtime: add the new secret, move clients, drop the old one.
   */
  secrets: z.array(secretName).min(1).max(4),
  /** Model aliases, `provider/model`, `provider/*`, or `*`. */
  models: z.array(z.string().min(1)).min(1).default(['*']),
  description: z.string().optional(),
  /**
   * Providers (config names, or `*` for all) whose own API this key may call through
   * `/{provider}/…` (src/passthrough/). None by default: a passthrough reaches the
   * whole of the provider account (files, batches, fine-tunes), not one model.
   */
  passthrough: z.array(z.string().min(1)).default([]),
  /** May send `x-gateway-chaos` to simulate a failure of the first target (for testing apps). */
  chaos: z.boolean().default(false),
  /** Cache entries are shared by keys with the same scope; by default each key is its own scope. */
  cache_scope: name.optional(),
  /** Overrides `limits.defaults` field by field; `models` adds per-model rules for this key. */
  limits: KeyLimitsSchema.extend({ models: z.record(z.string().min(1), KeyModelLimitsSchema).optional() }).optional(),
  /** Tags on every call of this key; the caller's x-gateway-metadata adds tags but cannot change these. */
  metadata: MetadataSchema.optional(),
  /** Store the request and answer of every call of this key (payload logs, README). */
  log_payloads: z.boolean().default(false),
  /** Guardrails for every call of this key (names in `guardrails`), besides the model's and the default ones. */
  guardrails: GuardrailNamesSchema.optional(),
});

export { LogSettingsSchema };

export const GatewayConfigSchema = z
  .strictObject({
    /** Cap on request bodies, enforced while reading. */
    max_body_bytes: z.number().int().positive().max(100 * 1024 * 1024).default(4 * 1024 * 1024),
    timeouts: TimeoutsSchema.default(TimeoutsSchema.parse({})),
    /** Cap on a non-streamed upstream body, enforced while reading → 502 upstream_response_too_large. */
    max_response_bytes: z.number().int().positive().max(256 * 1024 * 1024).default(4 * 1024 * 1024),
    providers: z.record(name, ProviderConfigSchema),
    models: z.record(z.string().min(1).max(128), ModelSchema).default({}),
    keys: z.record(name, KeySchema),
    limits: LimitsSettingsSchema.default(LimitsSettingsSchema.parse({})),
    cache: CacheSettingsSchema.default(CacheSettingsSchema.parse({})),
    routing: RoutingSettingsSchema.default(RoutingSettingsSchema.parse({})),
    /** USD per million tokens, by `provider/model` (the upstream model that served). */
    prices: z.record(z.string().min(3), PriceSchema).default({}),
    log: LogSettingsSchema.default(LogSettingsSchema.parse({})),
    /** Named checks on requests and answers (docs/configuration.md, "Guardrails"). */
    guardrails: z.record(name, GuardrailSchema).default({}),
    /** Guardrails every call runs, whatever its key and model. */
    guardrails_default: GuardrailNamesSchema.default([]),
  })
  .superRefine((config, ctx) => {
    const named = (names: readonly string[] | undefined, path: PropertyKey[]) =>
      names?.forEach((guardrail, i) => {
        if (!Object.hasOwn(config.guardrails, guardrail)) {
          ctx.addIssue({ code: 'custom', path: [...path, i], message: `names guardrail "${guardrail}", which is not declared in \`guardrails\`` });
        }
      });
    named(config.guardrails_default, ['guardrails_default']);
    for (const [keyId, key] of Object.entries(config.keys)) named(key.guardrails, ['keys', keyId, 'guardrails']);
    for (const [alias, model] of Object.entries(config.models)) named(model.guardrails, ['models', alias, 'guardrails']);
    for (const [guardrail, g] of Object.entries(config.guardrails)) {
      if (g.kind !== 'injection' || !g.classifier || !('model' in g.classifier) || 'url' in g.classifier) continue;
      const model = g.classifier.model;
      if (!model || !(Object.hasOwn(config.models, model) || declaredProvider(model, config))) {
        ctx.addIssue({ code: 'custom', path: ['guardrails', guardrail, 'classifier', 'model'], message: `"${model}" is neither a model alias nor a declared provider's "provider/model"` });
      }
    }
    const known = (model: string) => Object.hasOwn(config.models, model) || declaredProvider(model, config);
    for (const [keyId, key] of Object.entries(config.keys)) {
      for (const model of Object.keys(key.limits?.models ?? {})) {
        if (!known(model)) {
          ctx.addIssue({ code: 'custom', path: ['keys', keyId, 'limits', 'models', model], message: 'is neither a model alias nor a declared provider\'s "provider/model"' });
        }
      }
    }
    for (const model of Object.keys(config.limits.models)) {
      if (!known(model)) {
        ctx.addIssue({ code: 'custom', path: ['limits', 'models', model], message: 'is neither a model alias nor a declared provider\'s "provider/model"' });
      }
    }
    for (const model of Object.keys(config.prices)) {
      if (!declaredProvider(model, config)) {
        ctx.addIssue({ code: 'custom', path: ['prices', model], message: 'must be "provider/model" with a declared provider' });
      }
    }
    if (Object.keys(config.providers).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['providers'], message: 'must declare at least one provider' });
    }
    if (Object.keys(config.keys).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['keys'], message: 'must declare at least one key' });
    }
    for (const [alias, model] of Object.entries(config.models)) {
      model.tiers.forEach((tier, t) =>
        tier.targets.forEach((target, i) => {
          if (!config.providers[target.provider]) {
            ctx.addIssue({
              code: 'custom',
              path: model.targets ? ['models', alias, 'targets', t, 'provider'] : ['models', alias, 'tiers', t, 'targets', i, 'provider'],
              message: `names provider "${target.provider}", which is not declared`,
            });
          }
        }),
      );
    }
    for (const [keyId, key] of Object.entries(config.keys)) {
      key.passthrough.forEach((name, i) => {
        const problem = passthroughProblem(name, config.providers);
        if (problem) ctx.addIssue({ code: 'custom', path: ['keys', keyId, 'passthrough', i], message: problem });
      });
      key.models.forEach((pattern, i) => {
        if (!patternIsKnown(pattern, config)) {
          ctx.addIssue({
            code: 'custom',
            path: ['keys', keyId, 'models', i],
            message: `"${pattern}" is neither "*", a model alias, nor a declared provider's "provider/…"`,
          });
        }
      });
    }
  });

function declaredProvider(model: string, config: { providers: object }): boolean {
  const slash = model.indexOf('/');
  return slash > 0 && slash < model.length - 1 && Object.hasOwn(config.providers, model.slice(0, slash));
}

function passthroughProblem(name: string, providers: Record<string, { kind: string }>): string | undefined {
  if (name === '*') return undefined;
  if (!Object.hasOwn(providers, name)) return `"${name}" is neither "*" nor a declared provider`;
  const kind = providers[name]!.kind;
  return providerFor(kind).passthrough ? undefined : `provider "${name}" is of kind "${kind}", which has no native passthrough`;
}

function patternIsKnown(pattern: string, config: { providers: object; models: object }): boolean {
  if (pattern === '*' || Object.hasOwn(config.models, pattern)) return true;
  const slash = pattern.indexOf('/');
  return slash > 0 && Object.hasOwn(config.providers, pattern.slice(0, slash));
}

export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;
export type KeyConfig = z.infer<typeof KeySchema>;
export type ModelConfig = z.infer<typeof ModelSchema>;
