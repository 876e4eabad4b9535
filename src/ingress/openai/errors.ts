import type { GatewayError } from '../../errors';

/**
 * OpenAI's error body, `{"error":{"message","type","param","code"}}`: what every
 * non-2xx answer of this format carries, and what a stream that fails after its
 * first byte ends with (framer.ts).
 */

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function errorBody(error: GatewayError): ErrorBody {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.wireCode } };
}

export function errorResponse(error: GatewayError, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(errorBody(error)), {
    status: error.status,
    headers: { 'content-type': 'application/json', ...error.headers, ...headers },
  });
}
