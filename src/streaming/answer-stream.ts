import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';

/**
 * A complete OpenAI answer as the SSE stream an OpenAI server would have sent for
 * it: a role chunk, content (or refusal, or tool-call) deltas a word or a few
 * characters at a time, the finish chunk, the usage chunk when asked for, then
 * [DONE]. The cache replays its entries from these chunks (cache/serve.ts, in one
 * body); the demo provider streams them one event per read.
 */

const encoder = new TextEncoder();

function pieces(text: string): string[] {
  return text.match(/\s*\S+\s*|\s+/g) ?? [];
}

function argumentPieces(args: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i += 16) out.push(args.slice(i, i + 16));
  return out.length > 0 ? out : [''];
}

type Message = { role?: string; content?: string | null; refusal?: string | null; tool_calls?: { id?: string; type?: string; function?: { name?: string; arguments?: string } }[] };
type Choice = { index?: number; message?: Message; text?: string; finish_reason?: string | null };

function chatChunks(body: JsonObject, includeUsage: boolean): JsonObject[] {
  const base: JsonObject = { id: body.id, object: 'chat.completion.chunk', created: body.created, model: body.model };
  if (body.system_fingerprint !== undefined) base.system_fingerprint = body.system_fingerprint;
  const chunk = (index: number, delta: JsonObject, finish: string | null = null): JsonObject => ({
    ...base,
    choices: [{ index, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const out: JsonObject[] = [];
  for (const choice of (body.choices as Choice[]) ?? []) {
    const index = choice.index ?? 0;
    const message = choice.message ?? {};
    const calls = message.tool_calls ?? [];
    out.push(chunk(index, { role: message.role ?? 'assistant', content: calls.length > 0 && !message.content ? null : '' }));
    for (const piece of pieces(message.content ?? '')) out.push(chunk(index, { content: piece }));
    for (const piece of pieces(message.refusal ?? '')) out.push(chunk(index, { refusal: piece }));
    calls.forEach((call, at) => {
      out.push(chunk(index, { tool_calls: [{ index: at, id: call.id, type: call.type ?? 'function', function: { name: call.function?.name ?? '', arguments: '' } }] }));
      for (const piece of argumentPieces(call.function?.arguments ?? '')) {
        out.push(chunk(index, { tool_calls: [{ index: at, function: { arguments: piece } }] }));
      }
    });
    out.push(chunk(index, {}, choice.finish_reason ?? 'stop'));
  }
  if (includeUsage && body.usage) out.push({ ...base, choices: [], usage: body.usage });
  return out;
}

function completionChunks(body: JsonObject, includeUsage: boolean): JsonObject[] {
  const base: JsonObject = { id: body.id, object: 'text_completion', created: body.created, model: body.model };
  const out: JsonObject[] = [];
  for (const choice of (body.choices as Choice[]) ?? []) {
    const index = choice.index ?? 0;
    for (const piece of pieces(choice.text ?? '')) out.push({ ...base, choices: [{ text: piece, index, logprobs: null, finish_reason: null }] });
    out.push({ ...base, choices: [{ text: '', index, logprobs: null, finish_reason: choice.finish_reason ?? 'stop' }] });
  }
  if (includeUsage && body.usage) out.push({ ...base, choices: [], usage: body.usage });
  return out;
}

export function answerChunks(endpoint: Operation, body: JsonObject, includeUsage: boolean): JsonObject[] {
  return endpoint === 'completions' ? completionChunks(body, includeUsage) : chatChunks(body, includeUsage);
}

/** As an OpenAI server streams it, one event per read (the demo provider). Stops at once with the signal's reason when it aborts (the demo's call was aborted). */
export function answerStream(endpoint: Operation, body: JsonObject, includeUsage: boolean, signal?: AbortSignal): ReadableStream<Uint8Array> {
  const events = [...answerChunks(endpoint, body, includeUsage).map((c) => JSON.stringify(c)), '[DONE]'];
  let next = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (signal?.aborted) return controller.error(signal.reason);
      controller.enqueue(encoder.encode(`data: ${events[next++]}\n\n`));
      if (next === events.length) controller.close();
    },
  });
}
