/**
 * The Worker's bindings, as declared in wrangler.toml. Caller keys and provider
 * credentials are Worker secrets whose names the config chooses, so they are
 * reached by name through `secret()`.
 */
import type { Limiter } from './limits/limiter';
import type { Health } from './routing/health-object';

export interface Env {
  /** The operator config (TOML table or JSON string); see src/config/schema.ts. */
  GATEWAY_CONFIG: unknown;
  /** Call log; see migrations/ and docs/storage.md. */
  DB: D1Database;
  /** Response cache. */
  CACHE: KVNamespace;
  /** Opt-in payload logs (src/logging/payload-log.ts); only read when a key or model logs payloads. */
  PAYLOADS?: R2Bucket;
  /** Per-key limiter Durable Object. */
  LIMITER: DurableObjectNamespace<Limiter>;
  /** Fleet-wide target health (circuit breakers, provider back-off). */
  HEALTH: DurableObjectNamespace<Health>;
  /** The dashboard's static files (wrangler.toml `[assets]`); absent when not configured. */
  ASSETS?: Fetcher;
  /** Admin credential for /dashboard and /admin/api (a Worker secret); unset = dashboard disabled. */
  GATEWAY_ADMIN_KEY?: string;
}

export function secret(env: Env, name: string): string | undefined {
  const value = (env as unknown as Record<string, unknown>)[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
