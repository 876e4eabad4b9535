import type { GatewayError } from '../../errors';
import type { StreamFramer } from '../../streaming/framer';
import { DONE } from '../../streaming/translator';
import { errorBody } from './errors';

const DONE_EVENT = `data: ${DONE}\n\n`;

/**
 * OpenAI's SSE framing: each chunk as it is, one `data:` line, then `[DONE]`; a
 * failure after the first byte as one `data: {"error":…}` event, which the openai
 * client raises. The usage-only chunk goes only to a client that asked for it
 * (`stream_options.include_usage`); the gateway asks upstream either way, for the log.
 */
export function openAIFramer(clientWantsUsage: boolean): StreamFramer {
  return {
    chunk: (data, usageOnly) => (usageOnly && !clientWantsUsage ? '' : `data: ${data}\n\n`),
    done: () => DONE_EVENT,
    error: (error: GatewayError) => `data: ${JSON.stringify(errorBody(error))}\n\n`,
  };
}
