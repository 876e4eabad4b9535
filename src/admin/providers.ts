import type { GatewayConfig } from '../config/schema';
import type { Env } from '../env';
import { fleetHealth } from '../routing/health';
import { providerScope, type TargetHealth } from '../routing/health-types';
import { BY_PROVIDER, rawPercentiles, sums } from './aggregate';
import { iso, RAW_SPAN_MAX, type Range } from './range';

/**
 * Per provider and per target (`provider/model`): calls served, upstream attempts,
 * failures, failovers, routing's skips, latency, and the live breaker state from
 * the Health object. Attempts exist as raw rows only (the rollups count calls), so
 * those figures cover the raw retention window.
 */

const CALLED = "(a.decision IS NULL OR a.decision NOT LIKE 'skipped%')";

/** Per-target attempt figures over attempts_by_provider_ts (provider = each configured provider, ts in range). */
export function attemptsSql(providers: number): string {
  const list = Array.from({ length: providers }, (_, i) => `?${i + 3}`).join(', ');
  return `SELECT a.provider, a.model,
    TOTAL(${CALLED}) AS attempts,
    TOTAL(${CALLED} AND a.error_code IS NOT NULL) AS failures,
    TOTAL(a.decision LIKE 'skipped%') AS skipped,
    TOTAL(a.decision = 'probe') AS probes,
    TOTAL(a.decision = 'panic') AS panics,
    TOTAL(CASE WHEN ${CALLED} THEN a.latency_ms END) AS latency_sum,
    TOTAL(EXISTS (SELECT 1 FROM attempts b WHERE b.request_id = a.request_id AND b.n = a.n + 1
      AND (b.provider <> a.provider OR b.model <> a.model))) AS failovers
    FROM attempts a WHERE a.provider IN (${list}) AND a.ts >= ?1 AND a.ts < ?2
    GROUP BY a.provider, a.model`;
}

interface AttemptRow {
  provider: string;
  model: string;
  attempts: number;
  failures: number;
  skipped: number;
  probes: number;
  panics: number;
  latency_sum: number;
  failovers: number;
}

function breakerOf(health: TargetHealth | undefined) {
  if (!health) return { state: 'closed', consecutive_failures: 0, blocked_until: null, retry_after_until: null, unreachable: false };
  return {
    state: health.state,
    consecutive_failures: health.consecutiveFailures,
    blocked_until: health.blockedUntil > 0 ? iso(health.blockedUntil) : null,
    retry_after_until: health.retryAfterUntil > 0 ? iso(health.retryAfterUntil) : null,
    unreachable: health.unreachable,
  };
}

async function healthOrError(env: Env): Promise<{ health: Map<string, TargetHealth>; error: string | null }> {
  try {
    const snapshot = await fleetHealth(env);
    return { health: new Map(snapshot.map((h) => [h.target, h])), error: null };
  } catch (error) {
    console.error(`admin: target health unavailable: ${String(error)}`);
    return { health: new Map(), error: 'The Health object could not be read; breaker states are unknown.' };
  }
}

export async function providersReport(env: Env, config: GatewayConfig, range: Range, now: number) {
  const { from, to } = range;
  const names = Object.keys(config.providers);
  const inList = `a.provider IN (${names.map((_, i) => `?${i + 3}`).join(', ')}) AND ${CALLED}`;
  const [calls, attempts, latency, health] = await Promise.all([
    sums(env.DB, { from, to, groups: [BY_PROVIDER], rollups: to - from > RAW_SPAN_MAX }),
    env.DB.prepare(attemptsSql(names.length)).bind(iso(from), iso(to), ...names).all<AttemptRow>(),
    // Exact attempt latency percentiles need the raw rows sorted: short ranges only.
    to - from > RAW_SPAN_MAX
      ? Promise.resolve(new Map<string, { p50: number; p95: number }>())
      : rawPercentiles(env.DB, { table: 'attempts', alias: 'a', partition: "a.provider || '/' || a.model", from, to, where: inList, params: names }),
    healthOrError(env),
  ]);

  const aliases = new Map<string, string[]>();
  for (const [alias, model] of Object.entries(config.models)) {
    for (const tier of model.tiers) for (const t of tier.targets) {
      const id = `${t.provider}/${t.model}`;
      aliases.set(id, [...new Set([...(aliases.get(id) ?? []), alias])]);
    }
  }
  const byTarget = new Map(attempts.results.map((row) => [`${row.provider}/${row.model}`, row]));
  const ids = [...new Set([...aliases.keys(), ...byTarget.keys(), ...[...health.health.keys()].filter((id) => !id.endsWith('/*'))])].sort();
  const targets = ids.map((id) => {
    const row = byTarget.get(id);
    const slash = id.indexOf('/');
    const tried = row?.attempts ?? 0;
    return {
      target: id,
      provider: id.slice(0, slash),
      model: id.slice(slash + 1),
      aliases: aliases.get(id) ?? [],
      attempts: tried,
      failures: row?.failures ?? 0,
      failure_rate: tried > 0 ? Number(((row?.failures ?? 0) / tried).toFixed(6)) : null,
      failovers: row?.failovers ?? 0,
      skipped: row?.skipped ?? 0,
      probes: row?.probes ?? 0,
      panics: row?.panics ?? 0,
      latency_avg_ms: tried > 0 ? Math.round((row?.latency_sum ?? 0) / tried) : null,
      latency_p95_ms: latency.get(id)?.p95 ?? null,
      breaker: breakerOf(health.health.get(id)),
    };
  });

  const served = new Map(calls.rows.map((row) => [String(row.group.provider), row]));
  const providers = names.map((name) => {
    const s = served.get(name);
    const backoff = health.health.get(providerScope(name));
    return {
      provider: name,
      kind: config.providers[name]!.kind,
      calls: s?.calls ?? 0,
      errors: (s?.errors_4xx ?? 0) + (s?.errors_5xx ?? 0),
      cost_usd: Number((s?.cost_usd ?? 0).toFixed(10)),
      latency_avg_ms: s && s.calls > 0 ? Math.round(s.latency_ms_sum / s.calls) : null,
      backoff_until: backoff && backoff.retryAfterUntil > now ? iso(backoff.retryAfterUntil) : null,
    };
  });

  return { range: { from: iso(from), to: iso(to) }, providers, targets, health_error: health.error };
}
