import type { KeyLimits } from '../config/limits-schema';
import type { GatewayConfig } from '../config/schema';
import { resolveModel } from '../routing/resolve';
import { configModelKey, modelKey } from './model-key';
import type { Rule } from './types';
import type { Route } from '../core/target';
import { definedFields } from '../core/values';

/**
 * Compiles config into the rules one call is checked against: the key's own rules
 * (config defaults merged field by field with the key's limits) plus the key's
 * per-model rules, all in the key's limiter object; and the fleet-wide per-model
 * rules, each entry in its own object (`model:<entry name>`), shared by all keys.
 *
 * Per-model rules follow upstream models, not the name a caller used: an entry named
 * by an alias covers every target of that alias, `provider/model` covers that target,
 * `provider/*` every model of the provider. A call is checked against every entry
 * that covers any target of its route (the serving target is not known at admission,
 * so a failover route counts against its fallbacks' rules too: never under-counted).
 * So `fx/fixture-chat` cannot bypass a rule on the alias `fixture-chat`, and an alias
 * cannot bypass a rule on `fx/fixture-chat`. Model ids match as modelKey() spells them.
 *
 * Cost: coverage is compiled once per config; the rules of a (key, route) pair once,
 * then memoized (bounded like resolve.ts's routes), so a call does one map lookup.
 */

export interface FleetRules {
  /** Limiter object name: the entry's config name, whatever address the caller used. */
  object: string;
  rules: Rule[];
}

export interface CallRules {
  key: Rule[];
  fleet: FleetRules[];
  /** The key has a spend rule: every target it may reach must be priced. */
  budget: boolean;
}

interface Coverage {
  models: Set<string>;
  providers: Set<string>;
}

interface Entry {
  name: string;
  coverage: Coverage;
  rules: Rule[];
}

interface Compiled {
  fleet: Entry[];
  keys: Map<string, { own: Rule[]; models: Entry[] }>;
  calls: Map<string, CallRules>;
}

const MAX_CALLS = 10_000;
const compiledByConfig = new WeakMap<GatewayConfig, Compiled>();

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


/** Which upstream models a rule entry's name stands for (same precedence as resolve.ts: aliases first). */
function coverage(config: GatewayConfig, name: string): Coverage {
  const models = new Set<string>();
  const providers = new Set<string>();
  const alias = Object.hasOwn(config.models, name) ? config.models[name] : undefined;
  if (alias) {
    for (const tier of alias.tiers) for (const t of tier.targets) models.add(modelKey(t.provider, t.model));
  } else if (name.endsWith('/*') && Object.hasOwn(config.providers, name.slice(0, -2))) {
    providers.add(name.slice(0, -2));
  } else {
    const key = configModelKey(name);
    if (key) models.add(key);
  }
  return { models, providers };
}

function entries(config: GatewayConfig, byName: Record<string, Partial<KeyLimits>> | undefined, prefix: (name: string) => string): Entry[] {
  return Object.entries(byName ?? {}).map(([name, limits]) => ({ name, coverage: coverage(config, name), rules: compile(limits, prefix(name)) }));
}

function compiledFor(config: GatewayConfig): Compiled {
  let compiled = compiledByConfig.get(config);
  if (!compiled) {
    const keys = new Map<string, { own: Rule[]; models: Entry[] }>();
    for (const [keyId, key] of Object.entries(config.keys)) {
      const { models: perModel, ...own } = key.limits ?? {};
      keys.set(keyId, {
        own: compile({ ...config.limits.defaults, ...definedFields(own) }, ''),
        models: entries(config, perModel, (name) => `model:${name}:`),
      });
    }
    compiled = { fleet: entries(config, config.limits.models, () => ''), keys, calls: new Map() };
    compiledByConfig.set(config, compiled);
  }
  return compiled;
}

function covers(entry: Entry, route: Pick<Route, 'targets'>): boolean {
  return route.targets.some((t) => entry.coverage.providers.has(t.provider) || entry.coverage.models.has(modelKey(t.provider, t.model)));
}

/** The rules for a key calling a route (or a model name, resolved as the gateway would). */
export function rulesFor(config: GatewayConfig, keyId: string, route: Pick<Route, 'model' | 'targets'> | string): CallRules {
  const resolved = typeof route === 'string' ? resolveModel(config, route) : route;
  const compiled = compiledFor(config);
  const cacheKey = `${keyId}\n${resolved.model}`;
  let rules = compiled.calls.get(cacheKey);
  if (!rules) {
    const key = compiled.keys.get(keyId);
    const own = key?.own ?? [];
    rules = {
      key: [...own, ...(key?.models ?? []).filter((e) => covers(e, resolved)).flatMap((e) => e.rules)],
      fleet: compiled.fleet.filter((e) => e.rules.length > 0 && covers(e, resolved)).map((e) => ({ object: `model:${e.name}`, rules: e.rules })),
      budget: own.some((r) => r.kind === 'spend_day' || r.kind === 'spend_month'),
    };
    if (compiled.calls.size >= MAX_CALLS) compiled.calls.clear();
    compiled.calls.set(cacheKey, rules);
  }
  return rules;
}
