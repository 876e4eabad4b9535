import type { JsonObject } from '../../core/json';
import type { GatewayError } from '../../errors';

/**
 * Anthropic's error body, `{"type":"error","error":{"type","message"},"request_id"}`,
 * with Anthropic's error types, which its SDKs and Claude Code read. The status and
 * headers (retry-after, rate-limit headers, x-should-retry) are the gateway's own,
 * whatever the format.
 */

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  503: 'overloaded_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** Anthropic uses invalid_request_error for 4xx statuses it has no type for. */
export function anthropicErrorType(status: number): string {
  return TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

export function errorBody(error: GatewayError, requestId: string): JsonObject {
  return { type: 'error', error: { type: anthropicErrorType(error.status), message: error.message }, request_id: requestId };
}

export function errorResponse(error: GatewayError, requestId: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(errorBody(error, requestId)), {
    status: error.status,
    headers: { 'content-type': 'application/json', ...error.headers, ...headers },
  });
}
