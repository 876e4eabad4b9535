import { METADATA_MAX_BYTES, METADATA_MAX_TAGS, MetadataSchema, TAG_NAME_RULE, type Metadata } from '../config/log-schema';
import { GatewayError } from '../errors';

/**
 * A call's metadata tags: the caller's `x-gateway-metadata` header (or
 * `cf-aig-metadata`, Cloudflare AI Gateway's name for it), merged with the tags
 * its key carries in the config. The key's tags win: they are the operator's
 * attribution (team, cost centre), which a caller can add to but not change.
 * Stored as JSON in `calls.metadata`; a bad header is a 400 (`invalid_metadata`),
 * never silently dropped, so a caller learns at once that its tags are not kept.
 */

/** In order of precedence. */
const HEADERS = ['x-gateway-metadata', 'cf-aig-metadata'] as const;

/** A key's own tags as stored, serialized once per config. */
const keyJson = new WeakMap<Metadata, string | null>();

/** The call's tags as stored (JSON), or null when it has none. */
export function callMetadata(headers: Headers, keyTags: Metadata | undefined): string | null {
  for (const header of HEADERS) {
    const value = headers.get(header);
    if (value === null) continue;
    const tags = { ...parseTags(header, value), ...keyTags };
    return Object.keys(tags).length > 0 ? JSON.stringify(tags) : null;
  }
  if (!keyTags) return null;
  let json = keyJson.get(keyTags);
  if (json === undefined) {
    json = Object.keys(keyTags).length > 0 ? JSON.stringify(keyTags) : null;
    keyJson.set(keyTags, json);
  }
  return json;
}

function parseTags(header: string, raw: string): Metadata {
  // Header values arrive as bytes, one char each: the length is the size.
  if (raw.length > METADATA_MAX_BYTES) throw invalid(header, `is ${raw.length} bytes; at most ${METADATA_MAX_BYTES} are allowed`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8(raw));
  } catch {
    throw invalid(header, 'is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid(header, 'must be a JSON object of tags');
  // zod drops this name silently; a caller's tag is never dropped without a word.
  if (Object.hasOwn(parsed, '__proto__')) throw invalid(header, `tag "__proto__": ${TAG_NAME_RULE}`);
  const result = MetadataSchema.safeParse(parsed);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const tag = issue.path[0];
  throw invalid(header, tag === undefined ? issue.message : `tag ${JSON.stringify(String(tag))}: ${issue.message}`);
}

/**
 * Non-ASCII bytes are read as UTF-8 (curl, most servers); bytes that are not UTF-8
 * stay as they came, one Latin-1 char each (what a browser or undici sends for é).
 */
function utf8(bytes: string): string {
  if (!/[^\x00-\x7f]/.test(bytes)) return bytes;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(bytes, (c) => c.charCodeAt(0)));
  } catch {
    return bytes;
  }
}

function invalid(header: string, problem: string): GatewayError {
  return new GatewayError(
    'invalid_metadata',
    `The ${header} header ${problem}. Send a JSON object of at most ${METADATA_MAX_TAGS} tags (string, number or boolean values), for example {"team":"search","user":"u-42"}.`,
    { param: header },
  );
}
