import type { CachePolicy } from '../config/cache-schema';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';

/**
 * The cache key: SHA-256 of a canonical form of everything that can change the
 * answer, and nothing that cannot. Key format version 1 (docs/storage.md):
 *
 *   ["egw-cache", 1, <config cache version>, <scope>, <endpoint>, <model as asked>,
 *    <fingerprint of its configured route>, <normalized body, keys sorted>]
 *
 * - Object keys are sorted at every depth, so JSON key order never matters.
 * - `user`, `stream`, `stream_options`, `metadata`, `store`, `service_tier` are
 *   left out: they change who asked, how the answer travels, or where it is kept,
 *   not the answer. `model` is represented by the model + route fingerprint.
 * - Text normalization (chat message text and completion prompts only; embedding
 *   input is never touched, every character changes a vector): `safe` unifies
 *   line endings and trims each text part; `collapse_whitespace` also turns
 *   internal runs of whitespace into one space. Case and Unicode form never change.
 */

export const KEY_FORMAT = 1;

const IGNORED = new Set(['model', 'user', 'stream', 'stream_options', 'metadata', 'store', 'service_tier']);

/** Fields whose effect the canonicalizer understands, per endpoint (besides IGNORED). */
const KNOWN: Record<Operation, Set<string>> = {
  'chat.completions': new Set([
    'messages', 'tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'temperature', 'top_p', 'n',
    'max_tokens', 'max_completion_tokens', 'stop', 'seed', 'logit_bias', 'logprobs', 'top_logprobs',
    'presence_penalty', 'frequency_penalty', 'reasoning_effort', 'modalities', 'prediction', 'audio',
    'functions', 'function_call', 'web_search_options', 'verbosity',
  ]),
  completions: new Set([
    'prompt', 'suffix', 'echo', 'best_of', 'temperature', 'top_p', 'n', 'max_tokens', 'stop', 'seed',
    'logit_bias', 'logprobs', 'presence_penalty', 'frequency_penalty',
  ]),
  embeddings: new Set(['input', 'encoding_format', 'dimensions']),
};

export function unknownFields(endpoint: Operation, body: JsonObject): string[] {
  return Object.keys(body).filter((field) => !IGNORED.has(field) && !KNOWN[endpoint].has(field));
}

/** Can the same request give a different answer? (OpenAI's default temperature is 1.) */
export function isNondeterministic(endpoint: Operation, body: JsonObject): boolean {
  if (endpoint === 'embeddings') return false;
  const n = body.n ?? 1;
  const bestOf = body.best_of ?? 1;
  return (body.temperature ?? 1) !== 0 || n !== 1 || bestOf !== 1;
}

export function normalizeText(text: string, level: CachePolicy['normalize']): string {
  const unified = text.replace(/\r\n?/g, '\n').trim();
  return level === 'collapse_whitespace' ? unified.replace(/\s+/g, ' ') : unified;
}

function normalizeContent(content: unknown, level: CachePolicy['normalize']): unknown {
  if (typeof content === 'string') return normalizeText(content, level);
  if (!Array.isArray(content)) return content;
  return content.map((part: unknown) => {
    const p = part as { type?: unknown; text?: unknown };
    return p && p.type === 'text' && typeof p.text === 'string' ? { ...p, text: normalizeText(p.text, level) } : part;
  });
}

function normalizeBody(endpoint: Operation, body: JsonObject, level: CachePolicy['normalize']): JsonObject {
  // No prototype: on a plain object, `out['__proto__'] = v` would call the prototype
  // setter and drop the field from the key (two bodies differing in it would collide).
  const out: JsonObject = Object.create(null);
  for (const [field, value] of Object.entries(body)) {
    // OpenAI reads an explicit null as "default", the same as leaving the field out.
    if (!IGNORED.has(field) && value !== null) out[field] = value;
  }
  if (endpoint === 'chat.completions' && Array.isArray(out.messages)) {
    out.messages = (out.messages as JsonObject[]).map((message) =>
      message && typeof message === 'object' && 'content' in message
        ? { ...message, content: normalizeContent(message.content, level) }
        : message,
    );
  }
  if (endpoint === 'completions') {
    const prompt = out.prompt;
    if (typeof prompt === 'string') out.prompt = normalizeText(prompt, level);
    else if (Array.isArray(prompt)) out.prompt = prompt.map((p) => (typeof p === 'string' ? normalizeText(p, level) : p));
  }
  return out;
}

/** An open array or object of canonicalJson, and the position of its next element. */
interface Frame {
  items: readonly unknown[] | JsonObject;
  /** Sorted keys of an object; undefined for an array. */
  keys: string[] | undefined;
  next: number;
}

/**
 * JSON with object keys sorted at every depth; arrays keep their order (it matters).
 * Iterative, with its own stack: the output must not depend on how deep a caller
 * could nest (request validation bounds it, but a cache key must never be the thing
 * that overflows). Keys come from Object.keys, so an own `__proto__` (JSON.parse
 * makes one) counts like any other key. Sorted by UTF-16 code units, as the key
 * format has always been.
 */
export function canonicalJson(value: unknown): string {
  const stack: Frame[] = [];
  let out = '';
  let current = value;
  for (;;) {
    if (current === null || typeof current !== 'object') {
      // undefined (in an array) and functions write null, as JSON.stringify does in arrays.
      out += JSON.stringify(current) ?? 'null';
    } else if (Array.isArray(current)) {
      out += '[';
      stack.push({ items: current, keys: undefined, next: 0 });
    } else {
      const object = current as JsonObject;
      out += '{';
      stack.push({ items: object, keys: Object.keys(object).filter((k) => object[k] !== undefined).sort(), next: 0 });
    }
    // Move to the next value to write, closing every container that is finished.
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) return out;
      if (top.keys) {
        if (top.next < top.keys.length) {
          const key = top.keys[top.next]!;
          if (top.next++ > 0) out += ',';
          out += `${JSON.stringify(key)}:`;
          current = (top.items as JsonObject)[key];
          break;
        }
        out += '}';
      } else {
        const items = top.items as readonly unknown[];
        if (top.next < items.length) {
          if (top.next > 0) out += ',';
          current = items[top.next++];
          break;
        }
        out += ']';
      }
      stack.pop();
    }
  }
}

export interface KeyParts {
  version: number;
  scope: string;
  endpoint: Operation;
  model: string;
  routeFingerprint: string;
  body: JsonObject;
  normalize: CachePolicy['normalize'];
  /** A caller-chosen key (cf-aig-cache-key) stands in for the body; everything else still applies. */
  customKey?: string;
}

export function canonicalRequest(parts: KeyParts): string {
  // Tagged, so a custom key can never spell the same canonical form as some body.
  const content = parts.customKey !== undefined ? ['custom', parts.customKey] : ['body', normalizeBody(parts.endpoint, parts.body, parts.normalize)];
  return canonicalJson(['egw-cache', KEY_FORMAT, parts.version, parts.scope, parts.endpoint, parts.model, parts.routeFingerprint, content]);
}

const encoder = new TextEncoder();

export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
  let out = '';
  for (const byte of digest) out += byte.toString(16).padStart(2, '0');
  return out;
}

export async function cacheKey(parts: KeyParts): Promise<string> {
  return `cache:v${KEY_FORMAT}:${await sha256Hex(canonicalRequest(parts))}`;
}
