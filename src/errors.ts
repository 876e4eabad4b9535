/**
 * The gateway's one error type. Every failure, wherever it starts, becomes a
 * GatewayError; its ingress format (src/ingress/openai/errors.ts) is the only place
 * one becomes wire JSON, so every non-2xx answer has OpenAI's shape.
 * The openai client picks its exception class from the status, so the table below
 * is the contract.
 */

const CODES = {
  invalid_json: { status: 400, type: 'invalid_request_error' },
  invalid_request: { status: 400, type: 'invalid_request_error' },
  unsupported_endpoint: { status: 400, type: 'invalid_request_error' },
  // x-gateway-metadata (or cf-aig-metadata) that is not a small flat JSON object of tags.
  invalid_metadata: { status: 400, type: 'invalid_request_error' },
  missing_api_key: { status: 401, type: 'invalid_request_error' },
  invalid_api_key: { status: 401, type: 'invalid_request_error' },
  model_not_allowed: { status: 403, type: 'invalid_request_error' },
  // A key with a budget asked for a model with no price (and no limits.default_price).
  model_not_priced: { status: 403, type: 'invalid_request_error' },
  chaos_not_allowed: { status: 403, type: 'invalid_request_error' },
  // A provider-native passthrough the key's `passthrough` list does not name.
  passthrough_not_allowed: { status: 403, type: 'invalid_request_error' },
  // A guardrail refused the request or the answer (src/guardrails/); `param` names it.
  guardrail_blocked: { status: 400, type: 'invalid_request_error' },
  model_not_found: { status: 404, type: 'invalid_request_error' },
  unknown_url: { status: 404, type: 'invalid_request_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  // Our own limits. OpenAI puts what ran out (requests, tokens) in `type`.
  rate_limit_exceeded: { status: 429, type: 'requests' },
  insufficient_quota: { status: 429, type: 'insufficient_quota' },
  limiter_unavailable: { status: 503, type: 'server_error' },
  all_targets_unavailable: { status: 503, type: 'server_error' },
  // A guardrail's classifier failed and its on_error is closed.
  guardrail_unavailable: { status: 503, type: 'server_error' },
  // A provider's own rate limit (its 429, or its back-off the fleet is waiting out):
  // a 429 like ours, told apart by the code so clients and dashboards can.
  upstream_rate_limited: { status: 429, type: 'rate_limit_error' },
  upstream_response_too_large: { status: 502, type: 'server_error' },
  // An upstream 4xx we pass on: the status comes from the upstream.
  upstream_rejected: { status: 400, type: 'invalid_request_error' },
  upstream_failed: { status: 502, type: 'server_error' },
  upstream_invalid_response: { status: 502, type: 'server_error' },
  upstream_credential_rejected: { status: 502, type: 'server_error' },
  stream_cut: { status: 502, type: 'server_error' },
  upstream_timeout: { status: 504, type: 'server_error' },
  client_closed: { status: 499, type: 'invalid_request_error' },
  config_invalid: { status: 500, type: 'server_error' },
  internal_error: { status: 500, type: 'server_error' },
} as const satisfies Record<string, { status: number; type: string }>;

export type ErrorCode = keyof typeof CODES;

export interface GatewayErrorOptions {
  param?: string | null;
  /** Overrides the table's status (upstream 4xx pass-through). */
  status?: number;
  /** Overrides the table's type (an upstream's own type, already sanitized). */
  type?: string;
  /** Extra response headers (allow, retry-after, ...). */
  headers?: Record<string, string>;
  /** Whether another attempt at the same target could succeed. */
  retryable?: boolean;
  /** Whether another target could succeed where this one cannot (defaults to `retryable`). */
  failover?: boolean;
  /** The upstream's HTTP status, when the failure is an upstream answer. */
  upstreamStatus?: number;
  /** The wait the upstream asked for (retry-after and friends), ms. */
  retryAfterMs?: number;
  /** A failure the gateway simulated (chaos): not held against the target's health. */
  synthetic?: boolean;
  /** No answer came at all (refused, reset, no headers in time), as opposed to a bad answer. */
  unreachable?: boolean;
  /** The wire `code`, when it differs from the internal code (upstream pass-through). */
  wireCode?: string | null;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly headers: Record<string, string>;
  readonly retryable: boolean;
  readonly failover: boolean;
  readonly upstreamStatus: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly synthetic: boolean;
  readonly unreachable: boolean;
  readonly wireCode: string | null;
  readonly options: GatewayErrorOptions;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message);
    this.name = 'GatewayError';
    this.code = code;
    this.status = options.status ?? CODES[code].status;
    this.type = options.type ?? CODES[code].type;
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
    this.retryable = options.retryable ?? false;
    this.failover = options.failover ?? this.retryable;
    this.upstreamStatus = options.upstreamStatus;
    this.retryAfterMs = options.retryAfterMs;
    this.synthetic = options.synthetic ?? false;
    this.unreachable = options.unreachable ?? false;
    this.options = options;
    this.wireCode = options.wireCode === undefined ? code : options.wireCode;
  }
}

/** `retry-after` (whole seconds, at least 1, as HTTP wants) and `retry-after-ms` (what OpenAI's clients read first). */
export function retryAfterHeaders(waitMs: number): Record<string, string> {
  const wait = Math.max(1, Math.ceil(waitMs));
  return { 'retry-after': String(Math.ceil(wait / 1000)), 'retry-after-ms': String(wait) };
}

/** The same error with more headers (e.g. x-should-retry when the gateway stops retrying). */
export function withHeaders(error: GatewayError, headers: Record<string, string>, message = error.message): GatewayError {
  return new GatewayError(error.code, message, { ...error.options, headers: { ...error.headers, ...headers } });
}

/** Anything thrown that is not a GatewayError is our bug: nothing of it reaches the client. */
export function asGatewayError(error: unknown, requestId: string): GatewayError {
  if (error instanceof GatewayError) return error;
  return new GatewayError(
    'internal_error',
    `The gateway failed to handle this request. Quote request id ${requestId} when reporting it.`,
  );
}
