import type { Operation } from '../../core/operation';
import { ChatCompletionRequest, CompletionRequest, EmbeddingRequest } from './schemas';

export { respondOpenAI } from './respond';

/**
 * OpenAI's public API as an ingress format: its request schema per operation, what
 * the pipeline needs from a validated request (toCall), and its response framing
 * (respond.ts). Error bodies are OpenAI-shaped everywhere (src/errors.ts).
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
