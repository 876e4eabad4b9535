import { z } from 'zod';
import { PII_DETECTORS, SECRET_DETECTORS } from '../guardrails/detectors';
import { compileSafe, literalPattern, PatternError } from '../guardrails/safe-regex';
import { allowPrivateNetwork, checkUrls, httpUrl, secretName } from './provider-schema';

/**
 * `guardrails.<name>`: checks on a call's request (input) and answer (output),
 * attached to keys, models or the whole gateway (docs/configuration.md,
 * "Guardrails"). Patterns are compiled and checked for runaway cost here, so
 * `npm run check` refuses a pathological one.
 */

const mode = z.enum(['block', 'redact', 'flag']);
const blockOrFlag = z.enum(['block', 'flag']);
const appliesTo = z.enum(['input', 'output', 'both']).default('both');
/** Text scanned per call; past it the guardrail fires TOO_LONG (blocks, unless it only flags). */
const maxScanChars = z.number().int().positive().max(4_000_000).default(200_000);
const limit = z.number().int().positive();

/** A plain string is a literal; `{ regex }` a regular expression (JavaScript syntax, `u` flag). */
export const PatternEntrySchema = z.union([z.string().min(1), z.strictObject({ regex: z.string().min(1) }), z.strictObject({ literal: z.string().min(1) })]);
export type PatternEntry = z.infer<typeof PatternEntrySchema>;

/** Compiles one entry (throws PatternError): the config check and the runtime share it. */
export function compileEntry(entry: PatternEntry, caseSensitive: boolean) {
  if (typeof entry === 'string') return literalPattern(entry, !caseSensitive);
  if ('literal' in entry) return literalPattern(entry.literal, !caseSensitive);
  return compileSafe(entry.regex, !caseSensitive);
}

function checkEntries(entries: readonly PatternEntry[], caseSensitive: boolean, field: string, ctx: z.RefinementCtx): void {
  entries.forEach((entry, i) => {
    try {
      compileEntry(entry, caseSensitive);
    } catch (error) {
      if (!(error instanceof PatternError)) throw error;
      ctx.addIssue({ code: 'custom', path: typeof entry === 'string' ? [field, i] : [field, i, 'regex' in entry ? 'regex' : 'literal'], message: error.message });
    }
  });
}

const PatternsSchema = z
  .strictObject({
    kind: z.literal('patterns'),
    mode,
    applies_to: appliesTo,
    /** Text that fires the guardrail. */
    deny: z.array(PatternEntrySchema).min(1).max(64),
    /** Exceptions: a deny match inside an allow match does not fire. */
    allow: z.array(PatternEntrySchema).max(64).default([]),
    case_sensitive: z.boolean().default(false),
    /** What a redacted match becomes. */
    placeholder: z.string().max(64).regex(/^[^"\\\n]*$/, 'must not contain quotes, backslashes or newlines').default('[REDACTED]'),
    max_scan_chars: maxScanChars,
    description: z.string().optional(),
  })
  .superRefine((g, ctx) => {
    checkEntries(g.deny, g.case_sensitive, 'deny', ctx);
    checkEntries(g.allow, g.case_sensitive, 'allow', ctx);
  });

const PiiSchema = z.strictObject({
  kind: z.literal('pii'),
  mode,
  applies_to: appliesTo,
  /** Which detectors; all by default. */
  detect: z.array(z.enum(Object.keys(PII_DETECTORS) as [string, ...string[]])).min(1).default(Object.keys(PII_DETECTORS)),
  max_scan_chars: maxScanChars,
  description: z.string().optional(),
});

const SecretsSchema = z.strictObject({
  kind: z.literal('secrets'),
  mode,
  applies_to: appliesTo,
  detect: z.array(z.enum(Object.keys(SECRET_DETECTORS) as [string, ...string[]])).min(1).default(Object.keys(SECRET_DETECTORS)),
  max_scan_chars: maxScanChars,
  description: z.string().optional(),
});

const classifierCommon = {
  /** The classifier's own time limit. */
  timeout_ms: z.number().int().positive().max(60_000).default(2000),
  /** When the classifier fails or times out: let the call through (open) or refuse it with 503 (closed). */
  on_error: z.enum(['open', 'closed']).default('closed'),
};

export const ClassifierSchema = z.union([
  /** A model this gateway routes (alias or provider/model), answering `safe` or `unsafe …` (Llama Guard's convention). */
  z.strictObject({ model: z.string().min(1), ...classifierCommon }),
  /** An OpenAI-compatible moderation endpoint (`POST …/moderations`, `results[].flagged`). */
  z
    .strictObject({
      url: httpUrl,
      api_key_secret: secretName.optional(),
      model: z.string().min(1).optional(),
      ...allowPrivateNetwork,
      ...classifierCommon,
    })
    .superRefine(checkUrls(['url'])),
]);

const InjectionSchema = z.strictObject({
  kind: z.literal('injection'),
  mode: blockOrFlag,
  /** Screens what the caller sends: user and tool messages, completion prompts. */
  applies_to: z.literal('input').default('input'),
  /** Heuristic score (0-1) at or above which the guardrail fires; 1 leaves only the classifier. */
  threshold: z.number().min(0).max(1).default(0.5),
  classifier: ClassifierSchema.optional(),
  max_scan_chars: maxScanChars,
  description: z.string().optional(),
});

const SizeSchema = z
  .strictObject({
    kind: z.literal('size'),
    mode: blockOrFlag,
    /** The limiter's estimate of the prompt (src/limits/estimate.ts): an upper bound of what providers count. */
    max_prompt_tokens: limit.optional(),
    max_messages: limit.optional(),
    max_tools: z.number().int().min(0).optional(),
    /** Characters of generated text (content, refusal, tool arguments) in the answer, all choices. */
    max_output_chars: limit.optional(),
    description: z.string().optional(),
  })
  .superRefine((g, ctx) => {
    if (g.max_prompt_tokens === undefined && g.max_messages === undefined && g.max_tools === undefined && g.max_output_chars === undefined) {
      ctx.addIssue({ code: 'custom', path: ['max_prompt_tokens'], message: 'set at least one of max_prompt_tokens, max_messages, max_tools, max_output_chars' });
    }
  });

export const GuardrailSchema = z.discriminatedUnion('kind', [PatternsSchema, PiiSchema, SecretsSchema, InjectionSchema, SizeSchema]);

/** Names of guardrails, in `keys.<id>.guardrails`, `models.<alias>.guardrails`, `guardrails_default`. */
export const GuardrailNamesSchema = z.array(z.string().min(1)).max(32);

export type GuardrailConfig = z.infer<typeof GuardrailSchema>;
export type ClassifierConfig = z.infer<typeof ClassifierSchema>;
