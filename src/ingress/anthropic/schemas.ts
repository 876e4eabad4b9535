import { z } from 'zod';

/**
 * Request bodies of Anthropic's Messages API (`POST /v1/messages`, and
 * `/v1/messages/count_tokens`), as far as the gateway translates them into an
 * OpenAI chat call (request.ts). What cannot be translated is refused with a 400
 * naming the field, rather than dropped: server tools (web search, bash, text
 * editor), file ids. `cache_control` and fields the gateway does not use (top_k,
 * thinking, service_tier...) are accepted and ignored (docs/anthropic-messages.md).
 */

/** Anthropic's wording for a missing required field. */
const required = (iss: { input: unknown }) => (iss.input === undefined ? 'Field required' : undefined);

/** The message of a discriminated union whose `type` is none of its options. */
function unsupported(what: string, options: string) {
  return (iss: { code?: string; input: unknown }) => {
    if (iss.code !== 'invalid_union') return undefined;
    const type = (iss.input as { type?: unknown } | null)?.type;
    return `${what} type ${JSON.stringify(type ?? null)} is not supported by this gateway (supported: ${options})`;
  };
}

/**
 * A string, or a list checked against `list`. Not a plain union: a union that fails
 * says only "Invalid input", where this reports the bad block itself
 * (`messages[0].content[2].source.type: ...`).
 */
function stringOr<T extends z.ZodType>(list: T) {
  return z.custom<string | z.infer<T>>((value) => value !== undefined, { error: 'Field required' }).superRefine((value, ctx) => {
    if (typeof value === 'string') return;
    if (!Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: 'must be a string or an array of content blocks' });
      return;
    }
    const parsed = list.safeParse(value);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue } as never);
  });
}

export const TextBlock = z.looseObject({ type: z.literal('text'), text: z.string() });

const ImageSource = z.discriminatedUnion(
  'type',
  [
    z.looseObject({ type: z.literal('base64'), media_type: z.string().min(1), data: z.string().min(1) }),
    z.looseObject({ type: z.literal('url'), url: z.string().min(1) }),
  ],
  { error: unsupported('Image source', 'base64, url') },
);
export const ImageBlock = z.looseObject({ type: z.literal('image'), source: ImageSource });

const DocumentSource = z.discriminatedUnion(
  'type',
  [
    z.looseObject({ type: z.literal('base64'), media_type: z.literal('application/pdf'), data: z.string().min(1) }),
    z.looseObject({ type: z.literal('text'), data: z.string() }),
  ],
  { error: unsupported('Document source', 'base64 (PDF), text') },
);
export const DocumentBlock = z.looseObject({ type: z.literal('document'), source: DocumentSource, title: z.string().nullish() });

/** What a tool result may carry besides text: lifted into a user message after the tool messages (request.ts). */
const ToolResultBlock = z.discriminatedUnion('type', [TextBlock, ImageBlock, DocumentBlock], {
  error: unsupported('Tool result content block', 'text, image, document'),
});

export const ToolResult = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: stringOr(z.array(ToolResultBlock)).optional(),
  is_error: z.boolean().optional(),
});

export const ToolUse = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown()),
});

/** Extended thinking from an earlier turn: dropped on the way (no OpenAI-format model can take it back). */
const Thinking = z.looseObject({ type: z.enum(['thinking', 'redacted_thinking']) });

const UserBlock = z.discriminatedUnion('type', [TextBlock, ImageBlock, DocumentBlock, ToolResult], {
  error: unsupported('User content block', 'text, image, document, tool_result'),
});
const AssistantBlock = z.discriminatedUnion('type', [TextBlock, ToolUse, Thinking], {
  error: unsupported('Assistant content block', 'text, tool_use, thinking, redacted_thinking'),
});

const Message = z.discriminatedUnion(
  'role',
  [
    z.looseObject({ role: z.literal('user'), content: stringOr(z.array(UserBlock)) }),
    z.looseObject({ role: z.literal('assistant'), content: stringOr(z.array(AssistantBlock)) }),
  ],
  { error: (iss) => (iss.code === 'invalid_union' ? 'role must be "user" or "assistant" (system prompts go in `system`)' : undefined) },
);

/** Only client ("custom") tools: a server tool runs on Anthropic's side, which no other provider has. */
const Tool = z.looseObject({
  type: z
    .string()
    .optional()
    .refine((type) => type === undefined || type === 'custom', {
      error: (iss) => `server tool type ${JSON.stringify(iss.input)} is not supported by this gateway; only custom tools (name, description, input_schema) are`,
    }),
  name: z.string().min(1),
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown(), { error: required }),
});

const parallel = { disable_parallel_tool_use: z.boolean().optional() };
const ToolChoice = z.discriminatedUnion(
  'type',
  [
    z.looseObject({ type: z.literal('auto'), ...parallel }),
    z.looseObject({ type: z.literal('any'), ...parallel }),
    z.looseObject({ type: z.literal('tool'), name: z.string().min(1), ...parallel }),
    z.looseObject({ type: z.literal('none') }),
  ],
  { error: unsupported('tool_choice', 'auto, any, tool, none') },
);

const fields = {
  model: z.string({ error: required }).min(1, 'must not be empty').max(256),
  messages: z.array(Message, { error: required }).min(1, 'must contain at least one message'),
  system: stringOr(z.array(TextBlock)).optional(),
  tools: z.array(Tool).optional(),
  tool_choice: ToolChoice.optional(),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).optional(),
  stream: z.boolean().optional(),
  thinking: z.looseObject({ type: z.string() }).optional(),
};

export const MessagesRequest = z.looseObject({
  ...fields,
  max_tokens: z.number({ error: required }).int().min(1),
});

/** The same body without max_tokens, which counting does not need. */
export const CountTokensRequest = z.looseObject({ ...fields, max_tokens: z.number().int().min(1).optional() });

export type MessagesRequest = z.infer<typeof MessagesRequest>;
export type CountTokensRequest = z.infer<typeof CountTokensRequest>;
export type UserBlock = z.infer<typeof UserBlock>;
export type AssistantBlock = z.infer<typeof AssistantBlock>;
export type ToolResultBlock = z.infer<typeof ToolResultBlock>;
