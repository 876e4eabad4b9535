import { z } from 'zod';

/**
 * Request bodies of the OpenAI API, as far as the gateway must understand them.
 * They are also the internal shape of every call (whatever API it arrived in:
 * src/ingress/), which is why they live here: providers read them too.
 * Known fields are checked (types and OpenAI's documented ranges); unknown fields
 * pass through untouched, because OpenAI-compatible upstreams add their own
 * (top_k, repetition_penalty, ...). The gateway forwards the caller's JSON, not
 * the parse result, so nothing is reordered or rewritten on the way.
 */

const model = z.string().min(1, 'must not be empty').max(256);
const probability = z.number().min(0).max(1);
const penalty = z.number().min(-2).max(2);
const positiveInt = z.number().int().min(1);
const stop = z.union([z.string(), z.array(z.string()).max(4)]).nullish();

const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const contentPart = z.looseObject({ type: z.string() });

const message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(z.union([textPart, contentPart])), z.null()]).optional(),
  name: z.string().optional(),
  tool_calls: z.array(z.looseObject({ id: z.string(), type: z.string(), function: z.looseObject({}) })).optional(),
  tool_call_id: z.string().optional(),
});

const tool = z.looseObject({
  type: z.string(),
  function: z
    .looseObject({
      name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
      description: z.string().optional(),
      parameters: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
});

const streamOptions = z.looseObject({ include_usage: z.boolean().optional() }).nullish();

export const ChatCompletionRequest = z.looseObject({
  model,
  messages: z.array(message).min(1, 'must contain at least one message'),
  stream: z.boolean().nullish(),
  stream_options: streamOptions,
  tools: z.array(tool).optional(),
  tool_choice: z
    .union([
      z.enum(['none', 'auto', 'required']),
      z.looseObject({ type: z.string(), function: z.looseObject({ name: z.string() }).optional() }),
    ])
    .optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: z
    .looseObject({
      type: z.enum(['text', 'json_object', 'json_schema']),
      json_schema: z.looseObject({ name: z.string() }).optional(),
    })
    .optional(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: probability.nullish(),
  n: positiveInt.max(128).nullish(),
  max_tokens: positiveInt.nullish(),
  max_completion_tokens: positiveInt.nullish(),
  stop,
  presence_penalty: penalty.nullish(),
  frequency_penalty: penalty.nullish(),
  logit_bias: z.record(z.string(), z.number().min(-100).max(100)).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  seed: z.number().int().nullish(),
  user: z.string().optional(),
});

const tokens = z.array(z.number().int());

export const CompletionRequest = z.looseObject({
  model,
  prompt: z.union([z.string(), z.array(z.string()).min(1), tokens.min(1), z.array(tokens).min(1)]),
  stream: z.boolean().nullish(),
  stream_options: streamOptions,
  max_tokens: positiveInt.nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: probability.nullish(),
  n: positiveInt.max(128).nullish(),
  stop,
  presence_penalty: penalty.nullish(),
  frequency_penalty: penalty.nullish(),
  seed: z.number().int().nullish(),
  user: z.string().optional(),
});

export const EmbeddingRequest = z.looseObject({
  model,
  input: z.union([
    z.string(),
    z.array(z.string()).min(1, 'must not be empty').max(2048),
    tokens.min(1),
    z.array(tokens).min(1).max(2048),
  ]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: positiveInt.optional(),
  user: z.string().optional(),
});

export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;
export type CompletionRequest = z.infer<typeof CompletionRequest>;
export type EmbeddingRequest = z.infer<typeof EmbeddingRequest>;
