import type { z } from 'zod';
import type { JsonObject } from '../core/json';
import { GatewayError } from '../errors';

/**
 * The deepest nesting of arrays and objects a request body may have (the body itself
 * is level 1). Real requests stay far below it: OpenAI's structured outputs allow 10
 * levels of schema nesting. The bound is what keeps every later walk over the body
 * (cache key, forwarding) safe: V8's JSON.parse is iterative and takes 100k levels,
 * but recursive code would overflow the stack and answer 500.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Is `value` nested more than `levels` deep? Stops at the first too-deep branch, so
 * the recursion itself never goes past MAX_JSON_DEPTH frames. One pass over the
 * parsed nodes (not the bytes: a long string is one node), with no copies or key arrays.
 */
function deeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (levels === 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (deeperThan(value[i], levels - 1)) return true;
    return false;
  }
  // for...in sees an own `__proto__` (JSON.parse makes it an own property) like any key.
  for (const key in value) if (deeperThan((value as JsonObject)[key], levels - 1)) return true;
  return false;
}

/** Validates against an API schema; the first problem becomes a 400 naming its field. */
export function validate<S extends z.ZodType>(schema: S, body: JsonObject): z.infer<S> {
  for (const field in body) {
    if (deeperThan(body[field], MAX_JSON_DEPTH - 1)) {
      throw new GatewayError(
        'invalid_request',
        `Invalid request: ${field}: JSON nested deeper than ${MAX_JSON_DEPTH} levels, the gateway's limit`,
        { param: field },
      );
    }
  }
  const result = schema.safeParse(body);
  if (result.success) return body as z.infer<S>;
  const issue = result.error.issues[0]!;
  const param = paramPath(issue.path);
  throw new GatewayError('invalid_request', `Invalid request: ${param || 'body'}: ${issue.message}`, {
    param: param || null,
  });
}

/** `messages[0].content`, as OpenAI names params. */
function paramPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}
