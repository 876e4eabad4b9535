/**
 * Reads a body to its end, or stops as soon as it passes `cap` bytes: the reader
 * is cancelled and undefined returned, so an oversized body is never held whole
 * (a request over `max_body_bytes`, an upstream answer over `max_response_bytes`).
 * `onChunk` runs after each chunk (where an idle timer restarts).
 */
export async function readCapped(body: ReadableStream<Uint8Array>, cap: number, onChunk?: () => void): Promise<Uint8Array | undefined> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
    onChunk?.();
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
