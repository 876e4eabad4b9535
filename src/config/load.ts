import type { z } from 'zod';
import { GatewayError } from '../errors';
import { type GatewayConfig, GatewayConfigSchema } from './schema';

export const CONFIG_VAR = 'GATEWAY_CONFIG';

export type ConfigResult = { ok: true; config: GatewayConfig } | { ok: false; error: string; field: string };

/**
 * Validates the raw config. Used by the Worker (through `loadConfig`) and by
 * `npm run check`, so a config that the check accepts is exactly one the Worker runs.
 */
export function parseConfig(raw: unknown): ConfigResult {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, field: CONFIG_VAR, error: `${CONFIG_VAR} is not valid JSON` };
    }
  }
  if (value === undefined || value === null) {
    return { ok: false, field: CONFIG_VAR, error: `${CONFIG_VAR} is not set` };
  }
  const parsed = GatewayConfigSchema.safeParse(value);
  if (parsed.success) return { ok: true, config: parsed.data };
  const issue = parsed.error.issues[0] as z.core.$ZodIssue;
  // zod reports an unknown field on its parent; name the field itself (a typo's exact spelling).
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const field = fieldPath(path);
  return { ok: false, field, error: `Invalid gateway configuration: ${field}: ${issue.message}` };
}

/** `GATEWAY_CONFIG.models["gpt-4.1"].targets[0].provider` */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = CONFIG_VAR;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(part))) out += `.${String(part)}`;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

// Parsed once per isolate: the raw var is the same string or object for every
// request an isolate serves, so one remembered pair is a perfect cache.
let lastRaw: unknown = Symbol('unset');
let lastResult: ConfigResult | undefined;

/** The validated config, or a 500 that names the bad field: a bad config never half-works. */
export function loadConfig(raw: unknown): GatewayConfig {
  if (raw !== lastRaw || !lastResult) {
    lastResult = parseConfig(raw);
    lastRaw = raw;
    if (!lastResult.ok) console.error(lastResult.error);
  }
  if (lastResult.ok) return lastResult.config;
  throw new GatewayError('config_invalid', lastResult.error, { param: lastResult.field });
}
