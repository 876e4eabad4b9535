import type { Operation } from '../../core/operation';
import { ChatCompletionRequest, CompletionRequest, EmbeddingRequest } from '../../core/openai-requests';

import type { IngressFormat } from '../format';
import { errorResponse } from './errors';
import { openAIFramer } from './framer';

/**
 * OpenAI's public API as an ingress format: its request schema per operation, what
 * the pipeline needs from a validated request (toCall), and its response side
 * (openAIFormat): the internal shape is OpenAI's own, so answers pass as they are.
 */

export const OPENAI_SCHEMAS = {
  'chat.completions': ChatCompletionRequest,
  completions: CompletionRequest,
  embeddings: EmbeddingRequest,
} as const satisfies Record<Operation, unknown>;

type OpenAIRequest = { model: string; stream?: boolean | null; stream_options?: { include_usage?: boolean } | null };

export function toCall(operation: Operation, request: OpenAIRequest) {
  return {
    model: request.model,
    // Embeddings never stream, whatever the body says.
    stream: operation !== 'embeddings' && request.stream === true,
    clientWantsUsage: request.stream_options?.include_usage === true,
  };
}

export function openAIFormat(clientWantsUsage: boolean): IngressFormat {
  return {
    answer: (json, text) => text ?? JSON.stringify(json),
    framer: () => openAIFramer(clientWantsUsage),
    errorResponse,
  };
}
