import type { JsonObject } from '../../core/json';
import type { GatewayError } from '../../errors';
import type { StreamFramer } from '../../streaming/framer';
import { readChunk } from '../chunk';
import {
  functionCallItem, messageItem, outcome, refusalPart, responseShell, responseUsage, textPart, type ResponseContext, type Status,
} from './response-object';

/**
 * The Responses API's typed SSE events, made from the call's chat chunks. The
 * first chunk opens the response (response.created, response.in_progress); text
 * and refusal deltas open a message item and its content part; a tool call opens
 * a function_call item; the finish chunk closes every open item (….done events);
 * the end of the stream sends the whole response, usage included (the usage chunk
 * comes after the finish chunk), as response.completed, or response.incomplete when
 * the token cap or a content filter cut it short. A stream that fails after it
 * started ends with response.failed: the openai client hands it on as an event
 * (it raises only on transport errors), with `response.status` "failed" and
 * `response.error`. Every event carries its sequence_number, from 0.
 *
 * Each chunk is parsed: this format re-shapes every one of them anyway.
 */

type Kind = 'text' | 'refusal';

interface OpenPart {
  kind: Kind;
  index: number;
  text: string;
  /** The part as the message item shows it: a failed response's snapshot carries the text so far. */
  shown: JsonObject;
}

interface OpenMessage {
  item: JsonObject & { content: JsonObject[] };
  index: number;
  part?: OpenPart | undefined;
}

interface OpenCall {
  item: JsonObject & { arguments: string; name: string };
  index: number;
}

interface ToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

interface Chunk {
  model?: unknown;
  usage?: unknown;
  choices?: { index?: number; delta?: { content?: unknown; refusal?: unknown; tool_calls?: ToolCallDelta[] | null }; finish_reason?: string | null }[];
}

export function responsesFramer(context: ResponseContext, onDone: (response: JsonObject) => void): StreamFramer {
  let sequence = 0;
  let started = false;
  let model = context.request.model;
  const output: JsonObject[] = [];
  let message: OpenMessage | undefined;
  const calls = new Map<number, OpenCall>();
  let finish: string | null | undefined;
  let usage: JsonObject | null = null;

  const event = (type: string, fields: JsonObject): string =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`;

  const snapshot = (status: Status): JsonObject => ({ ...responseShell(context, model, status), output, usage });

  const start = (): string => {
    if (started) return '';
    started = true;
    const response = snapshot('in_progress');
    return event('response.created', { response }) + event('response.in_progress', { response });
  };

  /** Items close with the response's outcome: cut short by the token cap, their status is incomplete. */
  const itemStatus = (): Status => outcome(finish).status;

  const closePart = (): string => {
    const part = message?.part;
    if (!message || !part) return '';
    message.part = undefined;
    const where = { item_id: message.item.id, output_index: message.index, content_index: part.index };
    const done =
      part.kind === 'text'
        ? event('response.output_text.done', { ...where, text: part.text, logprobs: [] })
        : event('response.refusal.done', { ...where, refusal: part.text });
    return done + event('response.content_part.done', { ...where, part: part.shown });
  };

  const closeMessage = (): string => {
    if (!message) return '';
    const out = closePart();
    const { item, index } = message;
    message = undefined;
    item.status = itemStatus();
    return out + event('response.output_item.done', { output_index: index, item });
  };

  const closeCalls = (): string => {
    let out = '';
    for (const { item, index } of calls.values()) {
      item.status = itemStatus();
      out += event('response.function_call_arguments.done', { item_id: item.id, output_index: index, name: item.name, arguments: item.arguments });
      out += event('response.output_item.done', { output_index: index, item });
    }
    calls.clear();
    return out;
  };

  const textDelta = (kind: Kind, delta: string): string => {
    let out = '';
    if (!message) {
      const index = output.length;
      const item = messageItem(context, index, 'in_progress', []) as OpenMessage['item'];
      output.push(item);
      message = { item, index };
      out += event('response.output_item.added', { output_index: index, item });
    }
    if (message.part?.kind !== kind) {
      out += closePart();
      const part: OpenPart = { kind, index: message.item.content.length, text: '', shown: kind === 'text' ? textPart('') : refusalPart('') };
      message.item.content.push(part.shown);
      message.part = part;
      out += event('response.content_part.added', { item_id: message.item.id, output_index: message.index, content_index: part.index, part: part.shown });
    }
    const part = message.part!;
    part.text += delta;
    part.shown[kind] = part.text;
    const where = { item_id: message.item.id, output_index: message.index, content_index: part.index };
    return out + (kind === 'text' ? event('response.output_text.delta', { ...where, delta, logprobs: [] }) : event('response.refusal.delta', { ...where, delta }));
  };

  const toolDelta = (call: ToolCallDelta): string => {
    let out = '';
    const at = call.index ?? 0;
    let open = calls.get(at);
    if (!open) {
      // Text comes before the calls it leads to: the message is complete once a call starts.
      out += closeMessage();
      const index = output.length;
      const item = functionCallItem(context, index, 'in_progress', {
        id: call.id ?? `call_${context.hex}_${at}`,
        name: call.function?.name ?? '',
        arguments: '',
      }) as OpenCall['item'];
      output.push(item);
      open = { item, index };
      calls.set(at, open);
      out += event('response.output_item.added', { output_index: index, item });
    }
    const delta = call.function?.arguments;
    if (typeof delta === 'string' && delta !== '') {
      open.item.arguments += delta;
      out += event('response.function_call_arguments.delta', { item_id: open.item.id, output_index: open.index, delta });
    }
    return out;
  };

  return {
    chunk(data) {
      const chunk = readChunk<Chunk>(data);
      if (!chunk) return '';
      if (!started && typeof chunk.model === 'string' && chunk.model) model = chunk.model;
      let out = start();
      const reported = responseUsage(chunk.usage);
      if (reported) usage = reported;
      const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
      if (!choice) return out;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string' && delta.content !== '') out += textDelta('text', delta.content);
      if (typeof delta.refusal === 'string' && delta.refusal !== '') out += textDelta('refusal', delta.refusal);
      for (const call of delta.tool_calls ?? []) out += toolDelta(call);
      if (choice.finish_reason) {
        finish = choice.finish_reason;
        out += closeMessage() + closeCalls();
      }
      return out;
    },
    done() {
      const out = start() + closeMessage() + closeCalls();
      const { status, incomplete_details } = outcome(finish);
      const response = { ...snapshot(status), incomplete_details, completed_at: status === 'completed' ? Math.floor(Date.now() / 1000) : null };
      onDone(response);
      return out + event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
    },
    error(error: GatewayError) {
      const out = start();
      for (const item of output) if (item.status === 'in_progress') item.status = 'incomplete';
      const code = error.status === 429 ? 'rate_limit_exceeded' : 'server_error';
      const response = { ...snapshot('failed'), error: { code, message: error.message } };
      return out + event('response.failed', { response });
    },
  };
}
