import type { IngressFormat } from '../format';
import { anthropicMessage } from './answer';
import { errorResponse } from './errors';
import { anthropicFramer } from './framer';

export { chatBody } from './request';
export { CountTokensRequest, MessagesRequest } from './schemas';

/**
 * Anthropic's Messages API as an ingress format: requests are translated to an
 * OpenAI chat call (request.ts) and run like any other; answers, streams and
 * errors are re-shaped into Anthropic's. One per request: the message id is the
 * request id's (`req_<hex>` → `msg_<hex>`), so a message can be found in the log.
 */
export function anthropicFormat(requestId: string): IngressFormat {
  const messageId = `msg_${requestId.replace(/^req_/, '')}`;
  return {
    answer: (json) => JSON.stringify(anthropicMessage(json, messageId)),
    framer: () => anthropicFramer(messageId, requestId),
    errorResponse: (error, headers) => errorResponse(error, requestId, headers),
  };
}
