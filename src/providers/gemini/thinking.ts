import { z } from 'zod';
import type { JsonObject } from '../../core/json';
import { budgetFor, budgetOverrides, COMMON_BUDGETS, reasoningEffort, type BudgetLevel } from '../reasoning';

/**
 * `reasoning_effort` as Gemini's `generationConfig.thinkingConfig`
 * (https://ai.google.dev/gemini-api/docs/thinking). Two controls, by model
 * generation, never both in one request (Gemini refuses that):
 * - Gemini 2.5: `thinkingBudget` in tokens. `none` is 0 (thinking off; 2.5 Pro cannot
 *   and refuses it), `minimal` 512 (the least 2.5 Flash-Lite takes), `low` 1024,
 *   `medium` 8192, `high` 24576: the budgets Google's own OpenAI-compatible endpoint
 *   uses; `xhigh` and `max` get `high`'s.
 * - Gemini 3 and later: `thinkingLevel` `minimal`/`low`/`medium`/`high`, the effort's
 *   own name (`xhigh` and `max` are `high`). They cannot switch thinking off, so
 *   `none` asks for `minimal`, the least. Not every model has every level (3 Pro at
 *   launch: low and high): Gemini's 400 for one it lacks reaches the caller.
 * `maxOutputTokens` counts thoughts and answer together, as OpenAI's cap does, so the
 * caller's cap goes as it is. Thoughts are billed as output: usage counts
 * `thoughtsTokenCount` in `completion_tokens` and again as `reasoning_tokens`
 * (wire.ts). Thought text comes back only with the provider's `include_thoughts`.
 */

export const thinkingConfigFields = {
  /** `auto`: `level` for `gemini-<major>…` ids from 3 on, `budget` otherwise (3 also takes budgets, 2.5 no levels). */
  thinking: z.enum(['auto', 'budget', 'level']).default('auto'),
  /** thinkingBudget per effort level. */
  thinking_budgets: budgetOverrides(0, 32_768).optional(),
  /** Ask thinking models for their thought summaries (`thinkingConfig.includeThoughts`), answered as `reasoning_content`. */
  include_thoughts: z.boolean().optional(),
};
const Settings = z.object(thinkingConfigFields);
type Settings = z.output<typeof Settings>;

const DEFAULT_BUDGETS: Record<BudgetLevel, number> = { minimal: 512, ...COMMON_BUDGETS };

export function levelsByDefault(model: string): boolean {
  const major = /^gemini-(\d{1,2})(?=[.-]|$)/.exec(model);
  return major !== null && Number(major[1]) >= 3;
}

/** The thinkingConfig for the call, or undefined when it sets nothing. */
export function thinkingConfig(body: JsonObject, model: string, settings: Settings): JsonObject | undefined {
  const config: JsonObject = settings.include_thoughts ? { includeThoughts: true } : {};
  const effort = reasoningEffort(body);
  if (effort !== undefined) {
    const levels = settings.thinking === 'level' || (settings.thinking === 'auto' && levelsByDefault(model));
    if (levels) config.thinkingLevel = effort === 'none' ? 'minimal' : effort === 'xhigh' || effort === 'max' ? 'high' : effort;
    else config.thinkingBudget = effort === 'none' ? 0 : budgetFor(effort, { ...DEFAULT_BUDGETS, ...settings.thinking_budgets });
  }
  return Object.keys(config).length > 0 ? config : undefined;
}
