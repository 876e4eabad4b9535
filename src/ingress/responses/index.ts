import type { JsonObject } from '../../core/json';
import { GatewayError } from '../../errors';
import { validate } from '../validate';
import type { IngressFormat } from '../format';
import { errorResponse } from '../openai/errors';
import { responseFromChat } from './answer';
import { responsesFramer } from './framer';
import type { ResponseContext } from './response-object';
import { REQUEST_FIELDS, ResponsesRequest } from './schemas';

/**
 * OpenAI's Responses API as an ingress format. A request is validated here, sent
 * as a chat completion (to-chat.ts), and its answer re-shaped into a `response`
 * object (answer.ts) or the typed event stream (framer.ts). Errors keep OpenAI's
 * shape, which the Responses API shares.
 */

/** Validates a Responses body: unknown top-level fields are refused by name, as OpenAI does. */
export function validateResponses(body: JsonObject): ResponsesRequest {
  for (const field in body) {
    if (!REQUEST_FIELDS.has(field)) {
      throw new GatewayError('invalid_request', `Unknown parameter: '${field}'.`, { param: field, wireCode: 'unknown_parameter' });
    }
  }
  return validate(ResponsesRequest, body);
}

/** Told of every response that ended (completed or incomplete, not failed): for its conversation's keeping. */
export type OnResponse = (response: JsonObject) => void;

export function responsesFormat(context: ResponseContext, onResponse: OnResponse): IngressFormat {
  return {
    answer(json) {
      const response = responseFromChat(context, json);
      onResponse(response);
      return JSON.stringify(response);
    },
    framer: () => responsesFramer(context, onResponse),
    errorResponse,
  };
}

export { responseContext } from './response-object';
export { deleteStored, loadConversation, loadStored, responseNotFound, saveConversation } from './state';
export { inputItems, itemsFromMessages, listPage, listQuery } from './input-items';
export { toChat } from './to-chat';
