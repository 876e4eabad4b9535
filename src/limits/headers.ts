import type { RuleState } from './types';

/**
 * OpenAI's rate-limit headers. Resets are written as OpenAI writes them, in Go's
 * duration format: `20ms`, `1s`, `1.5s`, `6m0s`, `1h0m0s`.
 */
export function goDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = (total % 60_000) / 1000;
  const s = `${Number.isInteger(seconds) ? seconds : Number(seconds.toFixed(3))}s`;
  if (hours > 0) return `${hours}h${minutes}m${s}`;
  if (minutes > 0) return `${minutes}m${s}`;
  return s;
}

/** The tightest rule of a kind (least remaining) speaks for it. */
function tightest(states: RuleState[], kind: RuleState['kind']): RuleState | undefined {
  let best: RuleState | undefined;
  for (const state of states) {
    if (state.kind === kind && (!best || state.remaining < best.remaining)) best = state;
  }
  return best;
}

export function rateLimitHeaders(states: RuleState[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [kind, suffix] of [['requests', 'requests'], ['tokens', 'tokens']] as const) {
    const state = tightest(states, kind);
    if (!state) continue;
    headers[`x-ratelimit-limit-${suffix}`] = String(state.limit);
    headers[`x-ratelimit-remaining-${suffix}`] = String(Math.max(0, Math.floor(state.remaining)));
    headers[`x-ratelimit-reset-${suffix}`] = goDuration(state.reset_ms);
  }
  return headers;
}
