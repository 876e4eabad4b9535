import type { PayloadCapture } from './payload-capture';

/**
 * What the gateway remembers about one call while serving it; becomes one row of
 * the `calls` table (migrations/0001_create_calls.sql, docs/storage.md).
 */
/** One upstream attempt of a call; becomes one row of the `attempts` table. */
export interface AttemptRecord {
  provider: string;
  model: string;
  /** Upstream HTTP status; null when no answer came (network error, timeout, simulated). */
  status: number | null;
  errorCode: string | null;
  /** From the attempt's start to its outcome (headers, or the first stream event). */
  latencyMs: number;
  /** Backoff waited before this attempt. */
  waitMs: number;
  /**
   * Why routing treated this target as it did, when not as usual: `probe` (the
   * fleet's one call to a half-open breaker), `panic` (called although its breaker
   * is open: the model's last way out), `skipped_breaker` / `skipped_backoff` (not
   * called: open breaker, or a provider's requested wait). Skipped rows are not
   * upstream calls.
   */
  decision: AttemptDecision | null;
}

export type AttemptDecision = 'probe' | 'panic' | 'skipped_breaker' | 'skipped_backoff';

/** Upstream calls made: the attempt log without the targets routing skipped. */
export function upstreamCalls(record: Pick<CallRecord, 'attemptLog'>): number {
  let calls = 0;
  for (const attempt of record.attemptLog) if (attempt.decision === null || !attempt.decision.startsWith('skipped')) calls++;
  return calls;
}

export interface CallRecord {
  requestId: string;
  /** Epoch ms when the request arrived. */
  startedAt: number;
  endpoint: string;
  keyId: string | null;
  /** The model the caller asked for (alias or provider/model). */
  model: string | null;
  provider: string | null;
  upstreamModel: string | null;
  stream: boolean;
  /** Final HTTP status; 499 when the client went away first. */
  status: number;
  errorCode: string | null;
  /** A stream that had started and did not end with its terminator. */
  streamCut: boolean;
  /** Epoch ms of the upstream's first byte (headers, or a stream's first event). */
  firstByteAt: number | null;
  promptTokens: number | null;
  completionTokens: number | null;
  /**
   * Who counted the tokens: `provider` (its usage), `gateway` (a stream it reported
   * none for, counted by streaming/usage.ts countStreamed); null when none were.
   */
  usageSource: 'provider' | 'gateway' | null;
  /** Every upstream attempt, and every target skipped, in order (see upstreamCalls). */
  attemptLog: AttemptRecord[];
  /** Prompt tokens the provider served from its prompt cache. */
  cachedTokens: number | null;
  /** Prompt tokens the provider wrote to its prompt cache (Anthropic's cache_creation_input_tokens). */
  cacheWriteTokens: number | null;
  cacheStatus: string | null;
  costUsd: number | null;
  /** On a cache hit: what the answer would have cost upstream. */
  savedUsd: number | null;
  /** admitted | rejected | unavailable_open | unavailable_closed; null when the key has no limits. */
  limitStatus: string | null;
  /** The rule that refused the call. */
  limitedBy: string | null;
  /** The call's tags as JSON (metadata.ts), null when none. */
  metadata: string | null;
  /** Set when this call's request and answer are to be stored (payload-capture.ts). */
  payload?: PayloadCapture | undefined;
  /** Guardrails that fired (src/guardrails/): never the text they matched. */
  guardrails: GuardrailHit[];
}

/** One guardrail that fired on a call; the `guardrails` column holds them as JSON (migrations/0011). */
export interface GuardrailHit {
  name: string;
  kind: string;
  /** On the request (input) or the answer (output). */
  stage: 'input' | 'output';
  mode: 'block' | 'redact' | 'flag';
  /** `unavailable`: its classifier failed and `on_error` let the call through. */
  action: 'blocked' | 'redacted' | 'flagged' | 'unavailable';
  /** What was found: detector types (EMAIL, PATTERN, TOO_LONG…), injection signals, size limits passed. */
  found: string[];
  /** Injection screening's heuristic score. */
  score?: number;
}

export function newCallRecord(requestId: string, endpoint: string): CallRecord {
  return {
    requestId,
    startedAt: Date.now(),
    endpoint,
    keyId: null,
    model: null,
    provider: null,
    upstreamModel: null,
    stream: false,
    status: 0,
    errorCode: null,
    streamCut: false,
    firstByteAt: null,
    promptTokens: null,
    completionTokens: null,
    usageSource: null,
    attemptLog: [],
    cachedTokens: null,
    cacheWriteTokens: null,
    cacheStatus: null,
    costUsd: null,
    savedUsd: null,
    limitStatus: null,
    limitedBy: null,
    metadata: null,
    guardrails: [],
  };
}
