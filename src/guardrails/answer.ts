import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
import type { CallRecord, GuardrailHit } from '../logging/call-record';
import type { OutputPlan } from './plan';
import { blocked, contains, hit, recordHits, scanHits } from './report';
import { ScanSession, scanWhole } from './scanner';
import { mapAnswerTexts } from './texts';

/**
 * The after-hook of a non-streamed answer: runs before the cache stores it and
 * before the client reads it. Returns the answer (the same object when nothing was
 * redacted), or throws 400 guardrail_blocked: the upstream was called (and its
 * usage is logged), but nothing is cached and the answer's text never leaves.
 */
export function guardAnswer(plan: OutputPlan, operation: Operation, answer: JsonObject, record: CallRecord): JsonObject {
  if (operation === 'embeddings') return answer;
  const hits: GuardrailHit[] = [];
  try {
    let chars = 0;
    const session = plan.scan && new ScanSession(plan.scan.guardrails, plan.scan.detectors);
    const guarded = mapAnswerTexts(operation, answer, (text) => {
      chars += text.length;
      return session && !session.blocked ? scanWhole(session, text) : text;
    });
    for (const g of plan.size) {
      if (g.config.kind !== 'size' || g.config.max_output_chars === undefined || chars <= g.config.max_output_chars) continue;
      hits.push(hit(g, 'output', ['max_output_chars']));
      if (g.config.mode === 'block') throw blocked(g.name, 'output', `is ${chars} characters long, over ${g.config.max_output_chars}`);
    }
    if (session) {
      hits.push(...scanHits(plan.scan!, session, 'output'));
      if (session.blocked) throw blocked(plan.scan!.guardrails[session.blocked.guardrail]!.name, 'output', contains(session.blocked.type));
    }
    return guarded;
  } finally {
    if (hits.length > 0) recordHits(record, 'output', hits);
  }
}
