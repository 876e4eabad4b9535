import type { GatewayConfig } from '../config/schema';
import { definedFields } from '../core/values';
import { BY_KEY, BY_MODEL, sums, type Grouped } from './aggregate';
import { budgetPeriods, iso, RAW_SPAN_MAX, type Range } from './range';

/**
 * Per caller key: traffic and spend over the range, limit refusals, top models, and
 * spend in the current UTC day and month against the key's budget (the periods the
 * limiter's spend rules count). Spend here is the call log's cost_usd; the limiter's
 * own counters may differ by calls still in flight.
 */

/** Refused calls (limit_status = 'rejected'), over the refusals-only index calls_limited_by_ts. */
export const REFUSALS_SQL = `SELECT COALESCE(key_id, '') AS key_id, limited_by, COUNT(*) AS count FROM calls
  WHERE ts >= ?1 AND ts < ?2 AND limit_status = 'rejected' GROUP BY key_id, limited_by`;

const TOP_MODELS = 5;
const round = (n: number) => Number(n.toFixed(10));

/** The key's budget after merging `limits.defaults`, field by field as src/limits/rules.ts does. */
function budgetOf(config: GatewayConfig, keyId: string) {
  const own = config.keys[keyId]?.limits;
  return { ...config.limits.defaults, ...definedFields(own ?? {}) }.budget_usd;
}

function spentBy(rows: Grouped[]): Map<string, number> {
  return new Map(rows.map((row) => [String(row.group.key_id), round(row.cost_usd)]));
}

export async function keysReport(db: D1Database, config: GatewayConfig, range: Range, now: number) {
  const { from, to } = range;
  const periods = budgetPeriods(now);
  const [inRange, refusals, today, month] = await Promise.all([
    sums(db, { from, to, groups: [BY_KEY, BY_MODEL], rollups: to - from > RAW_SPAN_MAX }),
    db.prepare(REFUSALS_SQL).bind(iso(from), iso(to)).all<{ key_id: string; limited_by: string | null; count: number }>(),
    sums(db, { from: periods.day, to: now + 1, groups: [BY_KEY], rollups: true }),
    sums(db, { from: periods.month, to: now + 1, groups: [BY_KEY], rollups: true }),
  ]);
  const spentToday = spentBy(today.rows);
  const spentMonth = spentBy(month.rows);

  const ids = new Set([...Object.keys(config.keys), ...inRange.rows.map((r) => String(r.group.key_id)), ...refusals.results.map((r) => r.key_id)]);
  const keys = [...ids].map((id) => {
    const rows = inRange.rows.filter((r) => r.group.key_id === id);
    const total = (field: 'calls' | 'errors_4xx' | 'errors_5xx' | 'prompt_tokens' | 'completion_tokens' | 'cost_usd' | 'saved_usd') =>
      rows.reduce((sum, r) => sum + r[field], 0);
    const refused = refusals.results.filter((r) => r.key_id === id);
    const budget = id === '' ? undefined : budgetOf(config, id);
    const requests = total('calls');
    const errors = total('errors_4xx') + total('errors_5xx');
    return {
      // '' holds calls that never authenticated (no key).
      key_id: id === '' ? null : id,
      configured: Object.hasOwn(config.keys, id),
      description: config.keys[id]?.description ?? null,
      requests,
      errors,
      error_rate: requests > 0 ? Number((errors / requests).toFixed(6)) : null,
      prompt_tokens: total('prompt_tokens'),
      completion_tokens: total('completion_tokens'),
      cost_usd: round(total('cost_usd')),
      saved_usd: round(total('saved_usd')),
      refusals: {
        total: refused.reduce((sum, r) => sum + r.count, 0),
        by_rule: Object.fromEntries(refused.map((r) => [r.limited_by ?? 'unknown', r.count])),
      },
      budget: {
        daily: { limit_usd: budget?.daily ?? null, spent_usd: spentToday.get(id) ?? 0 },
        monthly: { limit_usd: budget?.monthly ?? null, spent_usd: spentMonth.get(id) ?? 0 },
      },
      top_models: rows
        .toSorted((a, b) => b.calls - a.calls || String(a.group.model).localeCompare(String(b.group.model)))
        .slice(0, TOP_MODELS)
        .map((r) => ({ model: r.group.model === '' ? null : r.group.model, requests: r.calls, cost_usd: round(r.cost_usd) })),
    };
  });
  keys.sort((a, b) => b.requests - a.requests || String(a.key_id).localeCompare(String(b.key_id)));
  return {
    range: { from: iso(from), to: iso(to) },
    periods: { day: iso(periods.day), month: iso(periods.month) },
    keys,
  };
}
