/**
 * OpenAI's `encoding_format: "base64"` is the base64 of the vector's float32
 * little-endian bytes. The openai npm client asks for it by default and decodes it,
 * so providers that return plain floats are re-encoded here.
 */
export function encodeEmbedding(vector: readonly number[], format: unknown): number[] | string {
  if (format !== 'base64') return vector as number[];
  const floats = new Float32Array(vector);
  const bytes = new Uint8Array(floats.buffer);
  // Float32Array stores platform order; workerd runs on little-endian machines only.
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function embeddingList(
  vectors: readonly (readonly number[])[],
  model: string,
  format: unknown,
  promptTokens?: number,
): Record<string, unknown> {
  const list: Record<string, unknown> = {
    object: 'list',
    data: vectors.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: encodeEmbedding(vector, format),
    })),
    model,
  };
  if (promptTokens !== undefined) list.usage = { prompt_tokens: promptTokens, total_tokens: promptTokens };
  return list;
}
