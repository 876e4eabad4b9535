import type { JsonObject } from '../../core/json';
import { readUsage } from '../../core/usage';
import type { ResponsesRequest } from './schemas';

/**
 * The Responses API's `response` object, built from what the call's chat answer
 * says: the same for a whole answer (answer.ts) and for the snapshots a stream
 * sends (framer.ts). Ids derive from the gateway's request id (`req_<hex>` gives
 * `resp_<hex>`, `msg_<hex>_<n>`, `fc_<hex>_<n>`), so a response is found in the
 * call log by its id; a cached answer gets the ids of the call it answers.
 */

export interface ResponseContext {
  /** `resp_…` */
  id: string;
  /** The request id's hex, for item ids. */
  hex: string;
  /** Seconds. */
  createdAt: number;
  request: ResponsesRequest;
  /** Whether this response is kept for a later previous_response_id (state.ts). */
  stored: boolean;
}

export function responseContext(requestId: string, startedAt: number, request: ResponsesRequest, stored: boolean): ResponseContext {
  const hex = requestId.replace(/^req_/, '');
  return { id: `resp_${hex}`, hex, createdAt: Math.floor(startedAt / 1000), request, stored };
}

export const itemId = (context: ResponseContext, prefix: 'msg' | 'fc', outputIndex: number) => `${prefix}_${context.hex}_${outputIndex}`;

export type Status = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** The response with no output yet, echoing what the request asked for. */
export function responseShell(context: ResponseContext, model: string, status: Status): JsonObject {
  const { request } = context;
  return {
    id: context.id,
    object: 'response',
    created_at: context.createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    max_tool_calls: null,
    model,
    output: [],
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    reasoning: { effort: request.reasoning?.effort ?? null, summary: null },
    service_tier: request.service_tier ?? 'default',
    store: context.stored,
    temperature: request.temperature ?? null,
    text: { format: request.text?.format ?? { type: 'text' }, ...(request.text?.verbosity ? { verbosity: request.text.verbosity } : {}) },
    tool_choice: request.tool_choice ?? 'auto',
    tools: request.tools ?? [],
    top_logprobs: 0,
    top_p: request.top_p ?? null,
    truncation: 'disabled',
    usage: null,
    ...(request.user !== undefined ? { user: request.user } : {}),
    metadata: request.metadata ?? {},
  };
}

/** How a chat finish reason ends a response: cut short by the token cap or a content filter is `incomplete`. */
export function outcome(finishReason: unknown): { status: 'completed' | 'incomplete'; incomplete_details: JsonObject | null } {
  if (finishReason === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finishReason === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

/** OpenAI chat usage as Responses usage; null when the provider reported none. */
export function responseUsage(usage: unknown): JsonObject | null {
  const read = readUsage(usage);
  if (!read) return null;
  const reasoning = (usage as { completion_tokens_details?: { reasoning_tokens?: unknown } | null }).completion_tokens_details?.reasoning_tokens;
  return {
    input_tokens: read.prompt,
    input_tokens_details: { cached_tokens: read.cacheRead ?? 0 },
    output_tokens: read.completion,
    output_tokens_details: { reasoning_tokens: typeof reasoning === 'number' ? reasoning : 0 },
    total_tokens: read.prompt + read.completion,
  };
}

export function textPart(text: string): JsonObject {
  return { type: 'output_text', annotations: [], logprobs: [], text };
}

export function refusalPart(refusal: string): JsonObject {
  return { type: 'refusal', refusal };
}

export function messageItem(context: ResponseContext, outputIndex: number, status: Status, content: JsonObject[]): JsonObject {
  return { id: itemId(context, 'msg', outputIndex), type: 'message', status, content, role: 'assistant' };
}

export function functionCallItem(context: ResponseContext, outputIndex: number, status: Status, call: { id: string; name: string; arguments: string }): JsonObject {
  return { id: itemId(context, 'fc', outputIndex), type: 'function_call', status, arguments: call.arguments, call_id: call.id, name: call.name };
}
