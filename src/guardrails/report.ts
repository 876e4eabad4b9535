import { GatewayError } from '../errors';
import type { CallRecord, GuardrailHit } from '../logging/call-record';
import { actionOf, type NamedGuardrail, type ScanPlan } from './plan';
import type { ScanSession } from './scanner';

/** What guardrails found, as log entries and as the error a refusal answers with. */

const DESCRIBED: Record<string, string> = {
  PATTERN: 'denied text',
  TOO_LONG: 'more text than the guardrail screens (its max_scan_chars)',
  EMAIL: 'an email address',
  PHONE: 'a phone number',
  CREDIT_CARD: 'a credit card number',
  IBAN: 'an IBAN',
  IP_ADDRESS: 'an IP address',
  API_KEY: 'an API key',
  BEARER_TOKEN: 'a bearer token',
  JWT: 'a JSON Web Token',
  PRIVATE_KEY: 'a private key',
};

export type Stage = GuardrailHit['stage'];

/** The hits of one scan session. */
export function scanHits(plan: ScanPlan, session: ScanSession, stage: Stage): GuardrailHit[] {
  return [...session.fired].map(([index, types]) => {
    const { name, config } = plan.named[index]!;
    return { name, kind: config.kind, stage, mode: plan.guardrails[index]!.mode, action: actionOf(plan.guardrails[index]!.mode), found: [...types].sort() };
  });
}

export function hit(g: NamedGuardrail, stage: Stage, found: string[], extra: Partial<GuardrailHit> = {}): GuardrailHit {
  const mode = g.config.mode;
  return { name: g.name, kind: g.config.kind, stage, mode, action: actionOf(mode), found, ...extra };
}

/** The refusal: 400 guardrail_blocked, the guardrail named in the message and `param`; never the matched text. */
export function blocked(name: string, stage: Stage, reason: string): GatewayError {
  const what = stage === 'input' ? 'the request' : 'the answer';
  return new GatewayError('guardrail_blocked', `Blocked by guardrail "${name}": ${what} ${reason}`, { param: name });
}

export function contains(type: string): string {
  if (type === 'TOO_LONG') return `has ${DESCRIBED.TOO_LONG}`;
  return `contains ${DESCRIBED[type] ?? type}`;
}

/** Replaces the record's hits of one stage (a stream reports as it goes). */
export function recordHits(record: CallRecord, stage: Stage, hits: GuardrailHit[]): void {
  record.guardrails = [...record.guardrails.filter((h) => h.stage !== stage), ...hits];
}
