import type { JsonObject } from '../../core/json';
import type { ChatCompletionRequest } from '../../core/openai-requests';
import { GatewayError } from '../../errors';

/**
 * `response_format` as Claude's structured outputs (API reference "Structured
 * outputs"): `{type: "json_schema", json_schema: {name, schema, strict, description}}`
 * becomes `output_config.format: {type: "json_schema", schema}`, and Claude answers
 * with JSON text conforming to the schema as its text content.
 *
 * - The schema goes as the caller wrote it. Anthropic accepts a subset of JSON Schema
 *   (every object must set `additionalProperties: false`; no numeric or string-length
 *   constraints, no `minItems` above 1, no recursion...) and refuses the rest with a
 *   400 that names the problem: that 400 is passed on, as any upstream 400, rather
 *   than guessed at here or the schema quietly rewritten into another one.
 * - `name` has no counterpart (Anthropic's format is only `type` and `schema`).
 *   `description` tells the model what the format is for: it becomes the schema's own
 *   top-level `description` when the schema has none.
 * - `strict`: Anthropic always decodes under the schema, so `strict: false` gets the
 *   same guarantee as `true`.
 * - `json_object` is refused: Anthropic has no schema-less JSON mode, and since every
 *   object in a schema must be closed (`additionalProperties: false`), no schema
 *   admits "any JSON object" either.
 */

function refused(param: string, why: string): GatewayError {
  return new GatewayError('invalid_request', `Anthropic models cannot take this request: ${why}`, { param });
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `output_config.format` for the request, or undefined when it asks for plain text. */
export function outputFormat(body: ChatCompletionRequest): JsonObject | undefined {
  const format = body.response_format;
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') {
    throw refused(
      'response_format',
      'Anthropic has no JSON mode without a schema (its structured outputs need a JSON schema whose objects all set additionalProperties: false, so none admits any object); send response_format {"type":"json_schema"} with a schema',
    );
  }
  const spec = format.json_schema as { schema?: unknown; description?: unknown } | undefined;
  if (!isObject(spec?.schema)) {
    throw refused('response_format.json_schema.schema', 'Anthropic\'s structured outputs need the JSON schema the answer must follow');
  }
  const described = typeof spec.description === 'string' && spec.description !== '' && spec.schema.description === undefined;
  const schema = described ? { ...spec.schema, description: spec.description as string } : spec.schema;
  return { type: 'json_schema', schema };
}

/** Whether the caller asked for an answer under a JSON schema: a refusal then goes in `refusal`, as OpenAI's structured outputs give it. */
export function wantsSchema(body: unknown): boolean {
  return isObject(body) && isObject(body.response_format) && body.response_format.type === 'json_schema';
}
