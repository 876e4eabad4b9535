import { z } from 'zod';
import type { JsonObject } from '../core/json';
import { GatewayError } from '../errors';

/**
 * OpenAI's `reasoning_effort` (chat completions; the Responses API's
 * `reasoning.effort` arrives as it too), for providers with a reasoning control of
 * their own (Anthropic's thinking, Gemini's thinkingConfig). OpenAI-format
 * providers forward the field untouched and never read it here.
 */

/** Every level an OpenAI-format caller may send: `none` (newer models), `minimal`, `low`, `medium`, `high`, and `xhigh`/`max` of the newest. */
export const ReasoningEffort = z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max']);
export type ReasoningEffort = z.infer<typeof ReasoningEffort>;

/** Levels a token budget is given for; `xhigh` and `max` take the `high` budget, the most a budget table holds. */
export type BudgetLevel = 'minimal' | 'low' | 'medium' | 'high';

/**
 * Thinking tokens per level. `low`, `medium` and `high` are the budgets Google's own
 * OpenAI-compatible endpoint gives those levels on Gemini 2.5 (1K, 8K, 24K); each
 * provider sets `minimal` to its smallest budget.
 */
export const COMMON_BUDGETS = { low: 1024, medium: 8192, high: 24576 } as const;

/** A provider's `thinking_budgets`: some levels' budgets overridden, each within the provider's range. */
export function budgetOverrides(min: number, max: number) {
  const tokens = z.number().int().min(min).max(max);
  return z.strictObject({ minimal: tokens, low: tokens, medium: tokens, high: tokens }).partial();
}

export function budgetFor(effort: Exclude<ReasoningEffort, 'none'>, budgets: Record<BudgetLevel, number>): number {
  return budgets[effort === 'xhigh' || effort === 'max' ? 'high' : effort];
}

/** The call's reasoning effort; undefined when absent or null. A value no model knows is the caller's 400. */
export function reasoningEffort(body: JsonObject): ReasoningEffort | undefined {
  const value = body.reasoning_effort;
  if (value === undefined || value === null) return undefined;
  const parsed = ReasoningEffort.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new GatewayError('invalid_request', `reasoning_effort must be one of ${ReasoningEffort.options.map((o) => `"${o}"`).join(', ')}`, {
    param: 'reasoning_effort',
  });
}
