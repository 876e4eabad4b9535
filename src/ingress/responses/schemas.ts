import { z } from 'zod';

/**
 * The request body of OpenAI's Responses API (`POST /v1/responses`), as far as the
 * gateway can honour it by running the call as a chat completion (to-chat.ts).
 * Every field OpenAI documents is known here: the ones the gateway serves are
 * checked like OpenAI checks them; the ones it cannot serve are accepted only at
 * their "off" value, so a request that needs them fails with a 400 naming them
 * instead of being answered as if they had been honoured. Items and parts are
 * loose objects: a client may send back the output items it was given, with their
 * ids and statuses.
 */

/** An error message for a discriminated union's unknown `type`, naming it. */
function unsupportedType(what: string, supported: string) {
  return (issue: { code: string; note?: string; input?: unknown }) => {
    if (issue.code !== 'invalid_union' || issue.note !== 'No matching discriminator') return undefined;
    const type = (issue.input as { type?: unknown } | undefined)?.type;
    const named = typeof type === 'string' ? `"${type}"` : 'missing';
    return `${what} type ${named} is not supported by this gateway (supported: ${supported})`;
  };
}

/**
 * A string, or a list checked item by item. (A zod union of the two would report a
 * bad item as "input: Invalid input"; this names the item and field at fault.)
 */
function stringOr<T extends z.ZodType>(list: T, what: string) {
  return z.unknown().superRefine((value, ctx) => {
    if (typeof value === 'string') return;
    if (!Array.isArray(value)) return void ctx.addIssue({ code: 'custom', message: `must be a string or a list of ${what}` });
    const result = list.safeParse(value);
    const issue = result.error?.issues[0];
    if (issue) ctx.addIssue({ code: 'custom', message: issue.message, path: [...issue.path] });
  }) as unknown as z.ZodType<string | z.output<T>>;
}

const name = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');
const jsonSchema = z.record(z.string(), z.unknown());

const inputText = z.looseObject({ type: z.literal('input_text'), text: z.string() });
const inputImage = z
  .looseObject({
    type: z.literal('input_image'),
    image_url: z.string().min(1).nullish(),
    file_id: z.string().nullish(),
    detail: z.enum(['low', 'high', 'auto', 'original']).nullish(),
  })
  .superRefine((part, ctx) => {
    if (part.image_url) return;
    ctx.addIssue({
      code: 'custom',
      path: part.file_id ? ['file_id'] : ['image_url'],
      message: part.file_id
        ? 'file ids are not supported: the gateway has no file storage; send the image as image_url (a URL or a data: URL)'
        : 'is required (a URL or a data: URL)',
    });
  });
const inputFile = z
  .looseObject({
    type: z.literal('input_file'),
    file_data: z.string().min(1).nullish(),
    file_id: z.string().nullish(),
    file_url: z.string().nullish(),
    filename: z.string().nullish(),
  })
  .superRefine((part, ctx) => {
    if (part.file_data) return;
    const by = part.file_id ? 'file_id' : part.file_url ? 'file_url' : undefined;
    ctx.addIssue({
      code: 'custom',
      path: [by ?? 'file_data'],
      message: by ? `files by ${by} are not supported: send the file inline as file_data` : 'is required',
    });
  });
const outputText = z.looseObject({ type: z.literal('output_text'), text: z.string() });
const refusal = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });

export const ContentPart = z.discriminatedUnion('type', [inputText, inputImage, inputFile, outputText, refusal], {
  error: unsupportedType('Content part', 'input_text, input_image, input_file, output_text, refusal'),
});

const message = z.looseObject({
  type: z.literal('message').optional(),
  role: z.enum(['user', 'system', 'developer', 'assistant']),
  content: stringOr(z.array(ContentPart), 'content parts'),
});
const functionCall = z.looseObject({
  type: z.literal('function_call'),
  call_id: z.string().min(1),
  name,
  arguments: z.string(),
});
const functionCallOutput = z.looseObject({
  type: z.literal('function_call_output'),
  call_id: z.string().min(1),
  output: stringOr(z.array(ContentPart), 'content parts'),
});
/** Reasoning a model did in an earlier turn: a chat completion cannot take it back, so it is left out (README). */
const reasoning = z.looseObject({ type: z.literal('reasoning') });

export const InputItem = z.discriminatedUnion('type', [message, functionCall, functionCallOutput, reasoning], {
  error: unsupportedType('Input item', 'message, function_call, function_call_output; reasoning items are ignored'),
});

const functionTool = z.looseObject({
  type: z.literal('function'),
  name,
  description: z.string().nullish(),
  parameters: jsonSchema.nullish(),
  strict: z.boolean().nullish(),
});
const Tool = z.discriminatedUnion('type', [functionTool], {
  error: unsupportedType('Tool', 'function; built-in tools run only on OpenAI'),
});

const ToolChoice = z.union([z.enum(['auto', 'none', 'required']), z.looseObject({ type: z.literal('function'), name })], {
  error: (issue) => {
    const type = (issue.input as { type?: unknown } | undefined)?.type;
    const named = typeof type === 'string' && type !== 'function' ? `"${type}" is not supported by this gateway; ` : '';
    return `${named}must be "auto", "none", "required" or {"type":"function","name":...}`;
  },
});

const TextFormat = z.discriminatedUnion(
  'type',
  [
    z.looseObject({ type: z.literal('text') }),
    z.looseObject({ type: z.literal('json_object') }),
    z.looseObject({
      type: z.literal('json_schema'),
      name,
      schema: jsonSchema,
      description: z.string().nullish(),
      strict: z.boolean().nullish(),
    }),
  ],
  { error: unsupportedType('Text format', 'text, json_object, json_schema') },
);

const Metadata = z
  .record(z.string().max(64, 'keys must be at most 64 characters'), z.string().max(512, 'values must be at most 512 characters'))
  .refine((metadata) => Object.keys(metadata).length <= 16, 'must have at most 16 keys');

/** A field the gateway cannot honour: accepted only when it asks for nothing. */
function off<T extends z.ZodType>(schema: T, why: string) {
  return schema.nullish().refine((value) => value === null || value === undefined || isOff(value), why);
}

function isOff(value: unknown): boolean {
  return value === false || value === 0 || (Array.isArray(value) && value.length === 0);
}

export const ResponsesRequest = z.looseObject({
  model: z.string().min(1, 'must not be empty').max(256),
  input: stringOr(z.array(InputItem), 'input items').optional(),
  instructions: z.string().nullish(),
  tools: z.array(Tool).nullish(),
  tool_choice: ToolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  max_output_tokens: z.number().int().min(16, 'must be at least 16').nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  text: z.looseObject({ format: TextFormat.optional(), verbosity: z.enum(['low', 'medium', 'high']).nullish() }).nullish(),
  reasoning: z.looseObject({ effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max']).nullish() }).nullish(),
  metadata: Metadata.nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_obfuscation: z.boolean().optional() }).nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().regex(/^resp_[A-Za-z0-9]{1,64}$/, 'is not a response id of this gateway').nullish(),
  user: z.string().optional(),
  safety_identifier: z.string().max(64).nullish(),
  prompt_cache_key: z.string().nullish(),
  prompt_cache_retention: z.enum(['in_memory', '24h']).nullish(),
  service_tier: z.enum(['auto', 'default', 'flex', 'scale', 'priority']).nullish(),
  truncation: z.enum(['disabled', 'auto']).nullish().refine((t) => t !== 'auto', 'truncation "auto" is not supported by this gateway: the prompt is sent whole'),
  background: off(z.boolean(), 'background responses are not supported by this gateway'),
  include: off(z.array(z.string()), 'include is not supported by this gateway'),
  top_logprobs: off(z.number().int().min(0).max(20), 'logprobs are not supported by this gateway'),
  max_tool_calls: off(z.number().int(), 'max_tool_calls is not supported by this gateway'),
  conversation: off(z.unknown(), 'conversations are not supported by this gateway; chain responses with previous_response_id'),
  prompt: off(z.unknown(), 'prompt templates are not supported by this gateway'),
  context_management: off(z.unknown(), 'context_management is not supported by this gateway'),
  moderation: off(z.unknown(), 'moderation is not supported by this gateway'),
  prompt_cache_options: off(z.unknown(), 'prompt_cache_options is not supported by this gateway'),
});

/** Every top-level field the request may have; anything else is refused as unknown (as OpenAI does). */
export const REQUEST_FIELDS: ReadonlySet<string> = new Set(Object.keys(ResponsesRequest.shape));

export type ResponsesRequest = z.infer<typeof ResponsesRequest>;
export type InputItem = z.infer<typeof InputItem>;
export type ContentPart = z.infer<typeof ContentPart>;
export type FunctionTool = z.infer<typeof functionTool>;
