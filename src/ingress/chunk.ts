/**
 * One of the call's chunks (OpenAI chat-chunk JSON) as a format that re-shapes
 * them reads it, fields unchecked; undefined when it is not JSON. The relay ends a
 * stream whose events are not JSON before they reach a framer, so a framer sends
 * nothing for one.
 */
export function readChunk<T extends object>(data: string): T | undefined {
  try {
    return (JSON.parse(data) as T | null) ?? undefined;
  } catch {
    return undefined;
  }
}
