/**
 * Sees every chunk of a streamed answer as the client gets it (OpenAI chunk JSON,
 * usage included), then whether the stream ended properly: how the cache stores a
 * streamed miss and the payload log keeps a streamed answer, without the relay
 * knowing either.
 */
export interface StreamTap {
  chunk(data: string): void;
  end(complete: boolean): void;
}
