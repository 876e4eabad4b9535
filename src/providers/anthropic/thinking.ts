import { z } from 'zod';
import type { JsonObject } from '../../core/json';
import type { ChatCompletionRequest } from '../../core/openai-requests';
import { GatewayError } from '../../errors';
import { budgetFor, budgetOverrides, COMMON_BUDGETS, reasoningEffort, type BudgetLevel, type ReasoningEffort } from '../reasoning';

/**
 * `reasoning_effort` as Claude's thinking (API reference "Extended thinking",
 * "Adaptive thinking", "Effort"). Two controls exist, by model generation:
 * - budget (`thinking: {type: "enabled", budget_tokens}`): the only one up to Claude
 *   4.5, deprecated on 4.6, refused by 4.7 and later. The budget is at least 1024 and
 *   below `max_tokens`, which counts thinking and answer together.
 * - adaptive (`thinking: {type: "adaptive"}` + `output_config.effort`): Claude 4.6 and
 *   later. Effort levels are low, medium, high, xhigh and max (not every model has
 *   the last two); `minimal` asks for the least, `low`.
 * `none` sends no thinking to a budget model (thinking is off unless asked for) and
 * `thinking: {type: "disabled"}` to an adaptive one (newer models think by default).
 *
 * `max_tokens`: a caller's cap (`max_completion_tokens`/`max_tokens`) bounds thinking
 * and answer together, as OpenAI's does, and is never raised: the limiter reserves
 * by it. So the budget shrinks to fit below it, and a cap of 1024 or less leaves no
 * room for the smallest budget: 400. Without a cap the provider's `max_tokens` stays
 * the room for the answer and the effort's budget is added for thinking.
 *
 * While thinking Claude takes no temperature but 1, no top_p below 0.95, no top_k and
 * (budget mode) no forced tool use: such a request is refused with a 400 naming the
 * field, as OpenAI refuses sampling settings on its reasoning models, rather than
 * quietly answering with other settings than asked.
 */

/** Smallest `budget_tokens` Anthropic accepts. */
export const MIN_BUDGET = 1024;

export const thinkingConfigFields = {
  /** `auto`: adaptive for Claude 4.6 and later by the model id (`claude-<family>-<major>-<minor>`), budget otherwise. */
  thinking: z.enum(['auto', 'budget', 'adaptive']).default('auto'),
  /** budget_tokens per effort level (and the room added to max_tokens when the caller sets no cap). */
  thinking_budgets: budgetOverrides(MIN_BUDGET, 128_000).optional(),
};

const DEFAULT_BUDGETS: Record<BudgetLevel, number> = { minimal: MIN_BUDGET, ...COMMON_BUDGETS };

export interface Thinking {
  /** Whether Claude thinks: its sampling limits apply and thinking blocks go back in the history. */
  on: boolean;
  maxTokens: number;
  /** `thinking` and `output_config`, to add to the body. */
  fields: JsonObject;
}

function refused(param: string, why: string): GatewayError {
  return new GatewayError('invalid_request', `Anthropic models cannot take this request: ${why}`, { param });
}

/** Claude 4.6 and later (`claude-opus-4-7`, `claude-sonnet-5`); earlier ids, `claude-3-7-sonnet-…` and other names are budget models. */
export function adaptiveByDefault(model: string): boolean {
  const version = /^claude-[a-z]+-(\d{1,2})(?:-(\d{1,2}))?(?=-|$)/.exec(model);
  if (!version) return false;
  const [major, minor] = [Number(version[1]), Number(version[2] ?? 0)];
  return major > 4 || (major === 4 && minor >= 6);
}

const Settings = z.object({ ...thinkingConfigFields, max_tokens: z.number() });

/** What thinking reads of a call (config.ts joins thinkingConfigFields into the provider's settings). */
interface ThinkingCall {
  body: JsonObject;
  target: { model: string; config: z.output<typeof Settings> };
}

export function thinking(call: ThinkingCall, body: ChatCompletionRequest): Thinking {
  const { config, model } = call.target;
  const cap = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const effort = reasoningEffort(call.body);
  const off: Thinking = { on: false, maxTokens: cap ?? config.max_tokens, fields: {} };
  if (effort === undefined) return off;
  const adaptive = config.thinking === 'adaptive' || (config.thinking === 'auto' && adaptiveByDefault(model));
  if (effort === 'none') return adaptive ? { ...off, fields: { thinking: { type: 'disabled' } } } : off;

  refuseSampling(body, adaptive);
  const budget = budgetFor(effort, { ...DEFAULT_BUDGETS, ...config.thinking_budgets });
  const maxTokens = cap ?? config.max_tokens + budget;
  if (adaptive) return { on: true, maxTokens, fields: { thinking: { type: 'adaptive' }, output_config: { effort: adaptiveEffort(effort) } } };
  if (cap !== undefined && cap <= MIN_BUDGET) {
    throw refused(
      body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens',
      `with reasoning_effort Claude thinks with a budget of at least ${MIN_BUDGET} tokens, which must be below max_tokens; allow more than ${MIN_BUDGET} tokens or leave the cap unset`,
    );
  }
  return { on: true, maxTokens, fields: { thinking: { type: 'enabled', budget_tokens: Math.min(budget, maxTokens - 1) } } };
}

function adaptiveEffort(effort: Exclude<ReasoningEffort, 'none'>): string {
  return effort === 'minimal' ? 'low' : effort;
}

function refuseSampling(body: ChatCompletionRequest, adaptive: boolean): void {
  const why = (what: string) => `while thinking (reasoning_effort) Claude takes ${what}; leave it unset or drop reasoning_effort`;
  if (body.temperature != null && body.temperature !== 1) throw refused('temperature', why('no temperature other than 1'));
  if (body.top_p != null && body.top_p < 0.95) throw refused('top_p', why('a top_p from 0.95 to 1 only'));
  if (typeof body.top_k === 'number') throw refused('top_k', why('no top_k'));
  const forced = body.tool_choice === 'required' || (typeof body.tool_choice === 'object' && body.tool_choice !== null);
  if (forced && !adaptive) throw refused('tool_choice', why('no forced tool use (tool_choice "required" or a named function), only "auto" or "none"'));
}
