import type { JsonObject } from './json';

/**
 * The exact text a request body was parsed from (src/http/body.ts), so work that
 * depends only on that text can be skipped when the same bytes come again (the
 * cache key memo, src/cache/key-memo.ts). Keyed by the parsed object itself: a
 * body the gateway built or copied (a Messages or Responses call translated to
 * chat, a redacted one) has no text here, and the text goes with its object.
 * So nothing may edit a parsed body in place before its cache key is taken: the
 * body would no longer be what its text says. (Nothing does; providers copy.)
 */

const texts = new WeakMap<JsonObject, string>();

export function rememberBodyText(body: JsonObject, text: string): void {
  texts.set(body, text);
}

export function bodyTextOf(body: JsonObject): string | undefined {
  return texts.get(body);
}
