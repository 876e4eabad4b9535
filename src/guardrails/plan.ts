import type { GuardrailConfig } from '../config/guardrails-schema';
import { compileEntry } from '../config/guardrails-schema';
import type { GatewayConfig } from '../config/schema';
import { PII_DETECTORS, SECRET_DETECTORS, type DetectorSpec } from './detectors';
import type { Detector, Mode, ScanGuardrail } from './scanner';

/**
 * Which guardrails a call runs, compiled: the gateway's defaults, then the key's,
 * then the model alias's, each once. Worked out once per config, key and model and
 * remembered (like routes), so a call with no guardrail pays one map lookup.
 */

export interface NamedGuardrail {
  name: string;
  config: GuardrailConfig;
}

/** Scanning guardrails (patterns, pii, secrets) of one stage, as one scan session's parts. */
export interface ScanPlan {
  guardrails: ScanGuardrail[];
  detectors: Detector[];
  /** Same order as `guardrails`. */
  named: NamedGuardrail[];
}

export interface InputPlan {
  scan: ScanPlan | undefined;
  injection: NamedGuardrail[];
  size: NamedGuardrail[];
}

export interface OutputPlan {
  scan: ScanPlan | undefined;
  /** Size guardrails with max_output_chars. */
  size: NamedGuardrail[];
}

export interface GuardPlan {
  input: InputPlan | undefined;
  output: OutputPlan | undefined;
  /**
   * Output guardrails change what the cache stores, so calls under different ones
   * must not share entries: this goes into the cache key (undefined without any).
   */
  cacheVariant: string | undefined;
}

const MAX_PLANS = 1000;
const plans = new WeakMap<GatewayConfig, Map<string, GuardPlan | null>>();

/** The call's guardrails, or undefined when none applies (the usual case: nothing else runs). */
export function guardPlan(config: GatewayConfig, keyId: string, model: string): GuardPlan | undefined {
  if (Object.keys(config.guardrails).length === 0) return undefined;
  let byCall = plans.get(config);
  if (!byCall) plans.set(config, (byCall = new Map()));
  const id = `${keyId}\n${model}`;
  let plan = byCall.get(id);
  if (plan === undefined) {
    plan = build(config, keyId, model);
    if (byCall.size >= MAX_PLANS) byCall.clear();
    byCall.set(id, plan);
  }
  return plan ?? undefined;
}

function build(config: GatewayConfig, keyId: string, model: string): GuardPlan | null {
  const names = new Set([
    ...config.guardrails_default,
    ...(config.keys[keyId]?.guardrails ?? []),
    ...((Object.hasOwn(config.models, model) && config.models[model]?.guardrails) || []),
  ]);
  if (names.size === 0) return null;
  const all = [...names].map((name) => ({ name, config: config.guardrails[name]! }));
  const input = all.filter(({ config: g }) => g.kind === 'injection' || g.kind === 'size' || g.applies_to !== 'output');
  const output = all.filter(({ config: g }) => g.kind !== 'injection' && (g.kind === 'size' ? g.max_output_chars !== undefined : g.applies_to !== 'input'));
  const inputPlan: InputPlan = {
    scan: scanPlan(input),
    injection: input.filter((g) => g.config.kind === 'injection'),
    size: input.filter((g) => g.config.kind === 'size' && (g.config.max_prompt_tokens ?? g.config.max_messages ?? g.config.max_tools) !== undefined),
  };
  const outputPlan: OutputPlan = { scan: scanPlan(output), size: output.filter((g) => g.config.kind === 'size') };
  return {
    input: inputPlan.scan || inputPlan.injection.length || inputPlan.size.length ? inputPlan : undefined,
    output: outputPlan.scan || outputPlan.size.length ? outputPlan : undefined,
    cacheVariant: output.length ? JSON.stringify(output.map((g) => [g.name, g.config])) : undefined,
  };
}

function scanPlan(named: NamedGuardrail[]): ScanPlan | undefined {
  const scanning = named.filter((g) => g.config.kind === 'patterns' || g.config.kind === 'pii' || g.config.kind === 'secrets');
  if (scanning.length === 0) return undefined;
  const plan: ScanPlan = { guardrails: [], detectors: [], named: scanning };
  scanning.forEach(({ name, config: g }, index) => {
    if (g.kind !== 'patterns' && g.kind !== 'pii' && g.kind !== 'secrets') return;
    plan.guardrails.push({ name, mode: g.mode as Mode, maxScanChars: g.max_scan_chars });
    if (g.kind === 'patterns') {
      const add = (allow: boolean) => (entry: Parameters<typeof compileEntry>[0]) => {
        const p = compileEntry(entry, g.case_sensitive);
        plan.detectors.push({
          guardrail: index, type: 'PATTERN', regex: new RegExp(p.source, `g${p.flags}`), reach: p.reach, behind: p.behind, inner: p.inner, first: p.first, allow, placeholder: g.placeholder,
        });
      };
      g.deny.forEach(add(false));
      g.allow.forEach(add(true));
      return;
    }
    const specs: Record<string, DetectorSpec> = g.kind === 'pii' ? PII_DETECTORS : SECRET_DETECTORS;
    for (const which of g.detect) plan.detectors.push(builtIn(specs[which]!, index));
  });
  return plan;
}

// Built-in detectors compile once per isolate.
const builtIns = new Map<DetectorSpec, Omit<Detector, 'guardrail'>>();

function builtIn(spec: DetectorSpec, guardrail: number): Detector {
  let compiled = builtIns.get(spec);
  if (!compiled) {
    compiled = {
      type: spec.type,
      regex: new RegExp(spec.source, `g${spec.flags ?? ''}`),
      reach: spec.reach,
      behind: spec.behind,
      inner: spec.inner,
      first: spec.first,
      valid: spec.valid,
      end: spec.end && { regex: new RegExp(spec.end.source, 'g'), reach: spec.end.reach },
      placeholder: `[${spec.type}]`,
    };
    builtIns.set(spec, compiled);
  }
  return { ...compiled, guardrail };
}

export function actionOf(mode: Mode): 'blocked' | 'redacted' | 'flagged' {
  return mode === 'block' ? 'blocked' : mode === 'redact' ? 'redacted' : 'flagged';
}
