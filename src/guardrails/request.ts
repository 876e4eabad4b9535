import type { GatewayConfig } from '../config/schema';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
import type { Env } from '../env';
import { GatewayError } from '../errors';
import { estimateTokens } from '../limits/estimate';
import type { CallRecord, GuardrailHit } from '../logging/call-record';
import { classify } from './classifier';
import { injectionScore } from './injection';
import type { InputPlan, NamedGuardrail } from './plan';
import { blocked, contains, hit, scanHits } from './report';
import { ScanSession, scanWhole } from './scanner';
import { mapRequestTexts } from './texts';

/**
 * The before-hook: the call's input guardrails on its internal body, before it is
 * admitted, looked up in the cache or sent anywhere. Cheapest first: size and
 * shape, then the scan (patterns, PII, secrets: one pass per detector over each
 * text), then injection screening (its classifier last, and only when nothing
 * has refused the call yet). Returns the body to send on: the same object, or a
 * copy with redactions. A refusal throws 400 guardrail_blocked; routing never
 * sees the call, so it is never retried or failed over.
 */

export interface GuardInput {
  operation: Operation;
  body: JsonObject;
  record: CallRecord;
  config: GatewayConfig;
  env: Env;
  ctx: { waitUntil(promise: Promise<unknown>): void };
  clientSignal: AbortSignal;
}

/** Whose text injection screening reads: the caller's and its tools', not the system prompt or the model's own turns. */
const SCREENED_ROLES = new Set(['user', 'tool', 'function']);

export async function guardRequest(plan: InputPlan, input: GuardInput): Promise<JsonObject> {
  const hits: GuardrailHit[] = [];
  try {
    for (const g of plan.size) checkSize(g, input, hits);
    let body = input.body;
    if (plan.scan) {
      const session = new ScanSession(plan.scan.guardrails, plan.scan.detectors);
      body = mapRequestTexts(input.operation, body, (text) => (session.blocked ? text : scanWhole(session, text)));
      hits.push(...scanHits(plan.scan, session, 'input'));
      if (session.blocked) throw blocked(plan.scan.guardrails[session.blocked.guardrail]!.name, 'input', contains(session.blocked.type));
    }
    if (plan.injection.length > 0) await screen(plan.injection, input, hits);
    return body;
  } finally {
    if (hits.length > 0) input.record.guardrails.push(...hits);
  }
}

function checkSize(g: NamedGuardrail, input: GuardInput, hits: GuardrailHit[]): void {
  if (g.config.kind !== 'size') return;
  const { max_messages, max_tools, max_prompt_tokens } = g.config;
  const over: [string, string][] = [];
  const messages = Array.isArray(input.body.messages) ? input.body.messages.length : 0;
  if (max_messages !== undefined && messages > max_messages) over.push(['max_messages', `has ${messages} messages, over ${max_messages}`]);
  const tools = Array.isArray(input.body.tools) ? input.body.tools.length : 0;
  if (max_tools !== undefined && tools > max_tools) over.push(['max_tools', `offers ${tools} tools, over ${max_tools}`]);
  if (max_prompt_tokens !== undefined) {
    const prompt = estimateTokens(input.operation, input.body, input.config.limits).prompt;
    if (prompt > max_prompt_tokens) over.push(['max_prompt_tokens', `has about ${prompt} prompt tokens, over ${max_prompt_tokens}`]);
  }
  if (over.length === 0) return;
  hits.push(hit(g, 'input', over.map(([limit]) => limit)));
  if (g.config.mode === 'block') throw blocked(g.name, 'input', over.map(([, why]) => why).join('; '));
}

async function screen(guardrails: NamedGuardrail[], input: GuardInput, hits: GuardrailHit[]): Promise<void> {
  const texts: string[] = [];
  mapRequestTexts(input.operation, input.body, (text, role) => {
    if (role === undefined ? input.operation === 'completions' : SCREENED_ROLES.has(role)) texts.push(text);
    return text;
  });
  if (texts.length === 0) return;
  const chars = texts.reduce((sum, t) => sum + t.length, 0);
  let heuristic: ReturnType<typeof injectionScore> | undefined;
  for (const g of guardrails) {
    if (g.config.kind !== 'injection') continue;
    if (chars > g.config.max_scan_chars) {
      hits.push(hit(g, 'input', ['TOO_LONG']));
      if (g.config.mode === 'block') throw blocked(g.name, 'input', contains('TOO_LONG'));
      continue;
    }
    heuristic ??= injectionScore(texts);
    const found = heuristic.score >= g.config.threshold ? [...heuristic.signals] : [];
    if (found.length === 0 && g.config.classifier) {
      const verdict = await classify(g.config.classifier, texts, { ...input, requestId: input.record.requestId });
      if (verdict === 'unsafe') found.push('classifier');
      if (verdict === 'error') {
        hits.push({ ...hit(g, 'input', ['classifier_error']), action: g.config.classifier.on_error === 'open' ? 'unavailable' : 'blocked' });
        if (g.config.classifier.on_error === 'closed') {
          throw new GatewayError('guardrail_unavailable', `Guardrail "${g.name}" could not run its classifier, and refuses calls until it can`, { param: g.name });
        }
      }
    }
    if (found.length === 0) continue;
    hits.push(hit(g, 'input', found, { score: heuristic.score }));
    if (g.config.mode === 'block') {
      const why = found.includes('classifier') ? 'was judged unsafe by its classifier' : `looks like a prompt injection (score ${heuristic.score}, threshold ${g.config.threshold})`;
      throw blocked(g.name, 'input', why);
    }
  }
}
