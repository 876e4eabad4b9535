import type { LimitsSettings } from '../config/limits-schema';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';

/**
 * Tokens to reserve before a call: an upper bound of what a provider bills, so that
 * with `max_tokens` set a token limit or budget is never passed (README, "Limits and
 * budgets"). One pass over the body, no tokenizer:
 *
 * - Text: every byte-level BPE (tiktoken, Llama 3, Qwen) and SentencePiece with byte
 *   fallback emits at least one UTF-8 byte per token, so bytes bound tokens. With
 *   `prompt_bytes_per_token` > 1 only ASCII bytes are divided: bytes outside ASCII
 *   (non-Latin text, 2-4 bytes a character, often a token each) count one each.
 * - Chat framing the provider adds around the text (constants below), which the
 *   caller never sends: per message, per request, and tool instructions.
 * - Images: `image_tokens` each (no bound fits every model; see the schema).
 * - Completion: max(max_tokens, max_completion_tokens) × n (× best_of and × prompts
 *   for legacy completions), else `default_max_tokens`: providers stop there.
 */

/**
 * Framing per chat message besides its fields' text (role, name, tool_call_id count as
 * text). OpenAI: 3 per message and 1 per name (openai-cookbook, "How to count tokens
 * with tiktoken"); Llama 3 `<|start_header_id|>…<|end_header_id|>\n\n…<|eot_id|>` 4;
 * ChatML (Qwen) `<|im_start|>…\n…<|im_end|>\n` 4.
 */
const PER_MESSAGE = 5;
/**
 * Once per chat request: the reply priming (OpenAI 3; Llama 3 4), BOS, and the system
 * block templates add when the caller sends none (Llama 3.1's cutoff and date lines,
 * 26 tokens; Qwen 2.5's "You are Qwen, created by Alibaba Cloud…", 22).
 */
const PER_CHAT = 40;
/**
 * When tools are offered: the instructions open-model templates wrap around the
 * definitions (Qwen 2.5 / Hermes about 100 tokens, Llama 3.1 about 70). OpenAI's own
 * wrapper (7 + 12 per function, 3 per property: the cookbook) is within the
 * definitions' JSON bytes, which are counted too.
 */
const TOOLS_PREAMBLE = 160;
/** Per prompt of a completions batch, per input of an embeddings batch: BOS/EOS, [CLS]/[SEP]. */
const PER_INPUT = 2;

const ASCII_ONLY = /^[\x00-\x7f]*$/;

class Tally {
  ascii = 0;
  other = 0;
  fixed = 0;

  text(value: string): void {
    if (ASCII_ONLY.test(value)) {
      this.ascii += value.length;
      return;
    }
    let units = 0;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x80) continue;
      units++;
      if (c < 0x800) this.other += 2;
      else if (c >= 0xd800 && c <= 0xdbff && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        this.other += 4; // a surrogate pair: one 4-byte character
        units++;
        i++;
      } else this.other += 3; // a lone surrogate is encoded as U+FFFD, 3 bytes
    }
    this.ascii += value.length - units;
  }

  json(value: unknown): void {
    if (value === undefined || value === null) return;
    if (typeof value === 'string') this.text(value);
    else this.text(JSON.stringify(value));
  }

  tokens(bytesPerToken: number): number {
    return this.fixed + Math.ceil(this.ascii / bytesPerToken) + this.other;
  }
}

function content(t: Tally, value: unknown, settings: LimitsSettings): void {
  if (!Array.isArray(value)) return t.json(value);
  for (const part of value as { type?: unknown; text?: unknown }[]) {
    const type = part?.type;
    if (type === 'text' && typeof part.text === 'string') t.text(part.text);
    else if (type === 'image_url' || type === 'input_image' || type === 'image') t.fixed += settings.image_tokens;
    // A file (PDF) is billed as its text plus an image per page: at least one page.
    else if (type === 'file' || type === 'input_file') {
      t.fixed += settings.image_tokens;
      t.json(part);
    } else t.json(part);
  }
}

function chatPrompt(t: Tally, body: JsonObject, settings: LimitsSettings): void {
  t.fixed += PER_CHAT;
  for (const message of (body.messages as Record<string, unknown>[] | undefined) ?? []) {
    t.fixed += PER_MESSAGE;
    for (const field in message) {
      if (field === 'content') content(t, message.content, settings);
      else t.json(message[field]);
    }
  }
  const tools = [body.tools, body.functions].filter((list) => Array.isArray(list) && list.length > 0);
  if (tools.length > 0) t.fixed += TOOLS_PREAMBLE;
  for (const list of tools) t.json(list);
  if (typeof body.tool_choice === 'object') t.json(body.tool_choice);
  t.json(body.response_format);
}

/** Counts a batch (prompt or input): strings, token ids, or lists of either. Returns how many items. */
function batch(t: Tally, value: unknown): number {
  if (typeof value === 'string') {
    t.text(value);
    t.fixed += PER_INPUT;
    return 1;
  }
  if (!Array.isArray(value) || value.length === 0) return 1;
  if (typeof value[0] === 'number') {
    t.fixed += value.length + PER_INPUT; // token ids: exact
    return 1;
  }
  for (const item of value) {
    if (Array.isArray(item)) t.fixed += item.length + PER_INPUT;
    else if (typeof item === 'string') {
      t.text(item);
      t.fixed += PER_INPUT;
    } else t.json(item);
  }
  return value.length;
}

export interface Estimate {
  prompt: number;
  completion: number;
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && value > 0 ? value : undefined;
}

export function estimateTokens(endpoint: Operation, body: JsonObject, settings: LimitsSettings): Estimate {
  const t = new Tally();
  let prompts = 1;
  if (endpoint === 'chat.completions') chatPrompt(t, body, settings);
  else if (endpoint === 'completions') {
    prompts = batch(t, body.prompt);
    t.json(body.suffix);
  } else batch(t, body.input);
  const prompt = t.tokens(settings.prompt_bytes_per_token);
  if (endpoint === 'embeddings') return { prompt, completion: 0 };

  const caps = [positive(body.max_tokens), positive(body.max_completion_tokens)].filter((n) => n !== undefined);
  const max = caps.length > 0 ? Math.max(...caps) : settings.default_max_tokens;
  // Legacy completions generate best_of candidates per prompt and bill them all.
  const choices = Math.max(positive(body.n) ?? 1, endpoint === 'completions' ? (positive(body.best_of) ?? 1) : 1);
  return { prompt, completion: max * choices * prompts };
}
