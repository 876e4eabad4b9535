import type { JsonObject } from '../../core/json';
import type { Usage } from '../../core/usage';
import type { FinishReason, ToolCall } from '../chat-shape';

/**
 * Reading Gemini's answers (https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse).
 * Upstream JSON is untrusted: every field is checked before use, so a malformed
 * answer becomes a clean upstream failure, never a crash.
 */

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

/**
 * `usageMetadata` as OpenAI counts it. Gemini counts thinking apart from the answer
 * (`totalTokenCount` = prompt + candidates + tool-use prompt + thoughts) and bills it
 * as output, so thoughts are completion tokens here, reported again as reasoning;
 * the tool-use prompt (results of Google-side tools) is prompt. Undefined when the
 * event carries no counts at all.
 */
export function nativeUsage(meta: unknown): Usage | undefined {
  if (!isObject(meta) || (meta.promptTokenCount === undefined && meta.candidatesTokenCount === undefined)) return undefined;
  const thoughts = count(meta.thoughtsTokenCount);
  const usage: Usage = {
    prompt: count(meta.promptTokenCount) + count(meta.toolUsePromptTokenCount),
    completion: count(meta.candidatesTokenCount) + thoughts,
  };
  if (meta.cachedContentTokenCount !== undefined) usage.cacheRead = count(meta.cachedContentTokenCount);
  if (meta.thoughtsTokenCount !== undefined) usage.reasoning = thoughts;
  return usage;
}

/** Stops Gemini reports for content its filters withheld (Candidate.FinishReason). */
const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT', 'IMAGE_RECITATION']);

/**
 * Gemini's finishReason as OpenAI's. Gemini says STOP after function calls too;
 * OpenAI says `tool_calls`. Everything else (OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL...)
 * has no OpenAI name and is `stop`.
 */
export function finishReason(reason: unknown, toolCalls: boolean): FinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (typeof reason === 'string' && FILTERED.has(reason)) return 'content_filter';
  return toolCalls ? 'tool_calls' : 'stop';
}

/**
 * Gemini 3 (and thinking 2.5 models) attach an opaque `thoughtSignature` to a turn's
 * first function call and refuse the next request (400) unless it comes back on that
 * part. OpenAI's format has no place for it but the tool call id, which every client
 * echoes verbatim: `call_<n>` becomes `call_<n>~sig~<signature>`.
 */
const SIGNED = '~sig~';

export function toolCallId(index: number, signature: unknown): string {
  return typeof signature === 'string' && signature !== '' ? `call_${index}${SIGNED}${signature}` : `call_${index}`;
}

export function signatureOf(id: string): string | undefined {
  const at = id.indexOf(SIGNED);
  return at < 0 ? undefined : id.slice(at + SIGNED.length) || undefined;
}

/** A `functionCall` part as an OpenAI tool call (its arguments the JSON text of `args`); undefined for other parts. */
export function toolCallOf(part: JsonObject, index: number): ToolCall | undefined {
  const call = part.functionCall;
  if (!isObject(call) || typeof call.name !== 'string') return undefined;
  return { id: toolCallId(index, part.thoughtSignature), name: call.name, arguments: JSON.stringify(isObject(call.args) ? call.args : {}) };
}

/** The parts of a candidate's content. */
export function partsOf(candidate: unknown): JsonObject[] {
  return isObject(candidate) && isObject(candidate.content) ? asArray(candidate.content.parts).filter(isObject) : [];
}
