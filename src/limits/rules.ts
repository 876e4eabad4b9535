import type { KeyLimits } from '../config/limits-schema';
import type { GatewayConfig } from '../config/schema';
import type { Rule } from './types';

/**
 * Compiles config into the rules one call is checked against: the key's own rules
 * (config defaults merged field by field with the key's limits) plus the key's
 * rules for this model, all in the key's limiter object; and the fleet-wide rules
 * for this model, in the model's object. Compiled once per config, key and model.
 */

export interface CallRules {
  key: Rule[];
  fleet: Rule[];
}

function compile(limits: Partial<KeyLimits> | undefined, prefix: string): Rule[] {
  if (!limits) return [];
  const rules: Rule[] = [];
  for (const window of limits.requests ?? []) {
    rules.push({ name: `${prefix}requests:${window.window_s}s`, kind: 'requests', limit: window.limit, window_ms: window.window_s * 1000 });
  }
  if (limits.tokens_per_minute) {
    rules.push({ name: `${prefix}tokens:60s`, kind: 'tokens', limit: limits.tokens_per_minute, window_ms: 60_000 });
  }
  if (limits.concurrency) rules.push({ name: `${prefix}concurrency`, kind: 'concurrency', limit: limits.concurrency });
  if (limits.budget_usd?.daily) rules.push({ name: `${prefix}spend:day`, kind: 'spend_day', limit: limits.budget_usd.daily });
  if (limits.budget_usd?.monthly) rules.push({ name: `${prefix}spend:month`, kind: 'spend_month', limit: limits.budget_usd.monthly });
  return rules;
}

function defined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const compiled = new WeakMap<GatewayConfig, Map<string, CallRules>>();

export function rulesFor(config: GatewayConfig, keyId: string, model: string): CallRules {
  let byCall = compiled.get(config);
  if (!byCall) compiled.set(config, (byCall = new Map()));
  const cacheKey = `${keyId}\n${model}`;
  let rules = byCall.get(cacheKey);
  if (!rules) {
    const { models: perModel, ...own } = config.keys[keyId]?.limits ?? {};
    rules = {
      key: [...compile({ ...config.limits.defaults, ...defined(own) }, ''), ...compile(perModel?.[model], `model:${model}:`)],
      fleet: compile(config.limits.models[model], ''),
    };
    byCall.set(cacheKey, rules);
  }
  return rules;
}
