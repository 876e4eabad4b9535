import type { JsonObject } from '../../core/json';
import { GatewayError } from '../../errors';
import { isObject, signatureOf } from './wire';

/**
 * An OpenAI chat request as Gemini's GenerateContentRequest
 * (https://ai.google.dev/api/generate-content#request-body). What Gemini cannot
 * express is refused with a 400 naming the field, before any upstream call; what
 * has no effect on the answer's shape (`user`, `parallel_tool_calls`, ...) is
 * ignored (docs/configuration.md lists both).
 */

type Part = JsonObject;
interface Content {
  role: 'user' | 'model';
  parts: Part[];
}

export function refuse(param: string, why: string): GatewayError {
  return new GatewayError('invalid_request', `Gemini cannot take this request: ${why}`, { param });
}

export function chatRequest(body: JsonObject, stream: boolean): JsonObject {
  const { contents, system } = conversation(body.messages);
  const request: JsonObject = { contents };
  if (system.length > 0) request.systemInstruction = { parts: system };
  const declarations = functionDeclarations(body.tools);
  if (declarations.length > 0) request.tools = [{ functionDeclarations: declarations }];
  const config = toolConfig(body.tool_choice, declarations);
  if (config) request.toolConfig = config;
  const generation = generationConfig(body, stream);
  if (Object.keys(generation).length > 0) request.generationConfig = generation;
  return request;
}

function conversation(messages: unknown): { contents: Content[]; system: Part[] } {
  const contents: Content[] = [];
  const system: Part[] = [];
  /** Tool call id → function name: a tool result names its function in Gemini, by id in OpenAI. */
  const toolNames = new Map<string, string>();
  (messages as JsonObject[]).forEach((message, i) => {
    const at = `messages[${i}]`;
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = textOf(message.content, `${at}.content`);
        if (text) system.push({ text });
        break;
      }
      case 'user':
        append(contents, 'user', userParts(message.content, `${at}.content`));
        break;
      case 'assistant':
        append(contents, 'model', assistantParts(message, at, toolNames));
        break;
      case 'tool':
        append(contents, 'user', [toolResult(message, at, toolNames)]);
        break;
      default:
        throw refuse(`${at}.role`, `role "${String(message.role)}" has no Gemini equivalent (send tool results as role "tool")`);
    }
  });
  if (contents.length === 0) throw refuse('messages', 'it needs a user message besides the system messages');
  return { contents, system };
}

/** Consecutive turns of one role become one content: parallel tool results must answer their calls in one turn. */
function append(contents: Content[], role: Content['role'], parts: Part[]): void {
  if (parts.length === 0) return;
  const last = contents.at(-1);
  if (last?.role === role) last.parts.push(...parts);
  else contents.push({ role, parts });
}

/** A string, or text (and refusal) parts joined: what system, assistant and tool messages may hold. */
function textOf(content: unknown, at: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  return (content as JsonObject[])
    .map((part, j) => {
      if (part.type === 'text' && typeof part.text === 'string') return part.text;
      if (part.type === 'refusal' && typeof part.refusal === 'string') return part.refusal;
      throw refuse(`${at}[${j}].type`, `this message may only hold text, not "${String(part.type)}"`);
    })
    .join('');
}

function userParts(content: unknown, at: string): Part[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) return [];
  return (content as JsonObject[]).map((part, j) => userPart(part, `${at}[${j}]`));
}

function userPart(part: JsonObject, at: string): Part {
  switch (part.type) {
    case 'text':
      return { text: part.text };
    case 'image_url':
      return imagePart(isObject(part.image_url) ? part.image_url.url : undefined, `${at}.image_url.url`);
    case 'input_audio': {
      const audio = isObject(part.input_audio) ? part.input_audio : {};
      if (typeof audio.data !== 'string' || (audio.format !== 'wav' && audio.format !== 'mp3')) {
        throw refuse(`${at}.input_audio`, 'audio must be base64 `data` with `format` "wav" or "mp3"');
      }
      return { inlineData: { mimeType: `audio/${audio.format}`, data: audio.data } };
    }
    case 'file': {
      const data = isObject(part.file) ? part.file.file_data : undefined;
      if (typeof data !== 'string' || !data.startsWith('data:')) throw refuse(`${at}.file`, 'files must be sent inline as a base64 data URL in `file_data` (no `file_id`)');
      return inlineData(data, `${at}.file.file_data`);
    }
    default:
      throw refuse(`${at}.type`, `content parts of type "${String(part.type)}" have no Gemini equivalent`);
  }
}

/** Image types Gemini reads (https://ai.google.dev/gemini-api/docs/image-understanding), by file extension. */
const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
};

function imagePart(url: unknown, at: string): Part {
  if (typeof url === 'string' && url.startsWith('data:')) return inlineData(url, at);
  if (typeof url !== 'string' || !/^https?:\/\//i.test(url)) throw refuse(at, 'an image must be an http(s) URL or a base64 data URL');
  // Gemini wants the type of a file it fetches; the URL's extension is all there is to go on.
  let extension = '';
  try {
    extension = /\.([A-Za-z0-9]+)$/.exec(new URL(url).pathname)?.[1]?.toLowerCase() ?? '';
  } catch {
    throw refuse(at, 'the image URL is not a valid URL');
  }
  const mimeType = IMAGE_TYPES[extension];
  if (!mimeType) throw refuse(at, 'the image type cannot be told from the URL: it must end in .png, .jpg, .jpeg, .webp, .heic or .heif (or send a base64 data URL)');
  return { fileData: { mimeType, fileUri: url } };
}

/** `data:<type>;base64,<data>` as an inline part (indexOf, not a regex: the data may be megabytes). */
function inlineData(url: string, at: string): Part {
  const comma = url.indexOf(',');
  const header = comma < 0 ? '' : url.slice(5, comma);
  const mimeType = header.slice(0, header.indexOf(';'));
  if (!header.endsWith(';base64') || !/^[\w.+-]+\/[\w.+-]+$/.test(mimeType)) throw refuse(at, 'a data URL must look like "data:image/png;base64,..."');
  return { inlineData: { mimeType, data: url.slice(comma + 1) } };
}

function assistantParts(message: JsonObject, at: string, toolNames: Map<string, string>): Part[] {
  const parts: Part[] = [];
  const text = textOf(message.content, `${at}.content`);
  if (text) parts.push({ text });
  const calls = Array.isArray(message.tool_calls) ? (message.tool_calls as JsonObject[]) : [];
  calls.forEach((call, j) => {
    const where = `${at}.tool_calls[${j}]`;
    const fn = isObject(call.function) ? call.function : {};
    if (call.type !== 'function' || typeof fn.name !== 'string') throw refuse(`${where}.function`, 'only function tool calls can be sent to Gemini');
    toolNames.set(call.id as string, fn.name);
    const part: Part = { functionCall: { name: fn.name, args: argumentsOf(fn.arguments, `${where}.function.arguments`) } };
    const signature = signatureOf(call.id as string);
    if (signature) part.thoughtSignature = signature;
    parts.push(part);
  });
  return parts;
}

function argumentsOf(text: unknown, at: string): JsonObject {
  if (text === undefined || text === '') return {};
  let args: unknown;
  try {
    args = JSON.parse(String(text));
  } catch {
    throw refuse(at, 'the arguments are not valid JSON');
  }
  if (!isObject(args)) throw refuse(at, 'Gemini takes function arguments as a JSON object');
  return args;
}

/**
 * A tool message as a `functionResponse`: its name from the assistant tool call it
 * answers; its response a JSON object (Gemini takes no other), so a result that is
 * not one goes in as `{"output": <text>}`, the key Gemini documents for it.
 */
function toolResult(message: JsonObject, at: string, toolNames: Map<string, string>): Part {
  const name = typeof message.tool_call_id === 'string' ? toolNames.get(message.tool_call_id) : undefined;
  if (!name) throw refuse(`${at}.tool_call_id`, 'it answers no tool call of an earlier assistant message');
  const text = textOf(message.content, `${at}.content`);
  let response: unknown;
  try {
    response = JSON.parse(text);
  } catch {
    // Plain text: wrapped below.
  }
  return { functionResponse: { name, response: isObject(response) ? response : { output: text } } };
}

/**
 * Function tools as declarations. Parameters travel as `parametersJsonSchema`,
 * Gemini's field for plain JSON Schema (`parameters` takes only its OpenAPI subset),
 * so no keyword is rewritten or dropped; `strict` has no Gemini equivalent.
 */
function functionDeclarations(tools: unknown): JsonObject[] {
  if (!Array.isArray(tools)) return [];
  return (tools as JsonObject[]).map((tool, i) => {
    const fn = isObject(tool.function) ? tool.function : undefined;
    if (tool.type !== 'function' || !fn) throw refuse(`tools[${i}].type`, 'only function tools can be sent to Gemini');
    const declaration: JsonObject = { name: fn.name };
    if (typeof fn.description === 'string') declaration.description = fn.description;
    if (isObject(fn.parameters)) declaration.parametersJsonSchema = fn.parameters;
    return declaration;
  });
}

/** tool_choice as `functionCallingConfig`: auto → AUTO, none → NONE, required → ANY, one function → ANY limited to it. */
function toolConfig(choice: unknown, declarations: JsonObject[]): JsonObject | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (declarations.length === 0) {
    if (choice === 'none' || choice === 'auto') return undefined;
    throw refuse('tool_choice', 'it asks for a tool call but the request has no tools');
  }
  const config = (mode: string, names?: string[]) => ({ functionCallingConfig: names ? { mode, allowedFunctionNames: names } : { mode } });
  if (choice === 'auto') return config('AUTO');
  if (choice === 'none') return config('NONE');
  if (choice === 'required') return config('ANY');
  const named = isObject(choice) && choice.type === 'function' && isObject(choice.function) ? choice.function.name : undefined;
  if (typeof named === 'string') {
    if (!declarations.some((d) => d.name === named)) throw refuse('tool_choice.function.name', `no tool is named "${named}"`);
    return config('ANY', [named]);
  }
  // `allowed_tools` with mode "auto" would need AUTO limited to some functions, which Gemini lacks.
  const allowed = isObject(choice) && choice.type === 'allowed_tools' && isObject(choice.allowed_tools) ? choice.allowed_tools : undefined;
  if (allowed?.mode === 'required' && Array.isArray(allowed.tools)) {
    const names = (allowed.tools as unknown[]).flatMap((t) => (isObject(t) && isObject(t.function) && typeof t.function.name === 'string' ? [t.function.name] : []));
    if (names.length > 0) return config('ANY', names);
  }
  throw refuse('tool_choice', 'Gemini supports "auto", "none", "required", one named function, or allowed_tools with mode "required"');
}

function generationConfig(body: JsonObject, stream: boolean): JsonObject {
  const config: JsonObject = {};
  const copy = (from: string, to: string) => {
    if (typeof body[from] === 'number') config[to] = body[from];
  };
  copy('temperature', 'temperature');
  copy('top_p', 'topP');
  copy('top_k', 'topK');
  copy('max_tokens', 'maxOutputTokens');
  copy('max_completion_tokens', 'maxOutputTokens');
  copy('seed', 'seed');
  copy('presence_penalty', 'presencePenalty');
  copy('frequency_penalty', 'frequencyPenalty');
  if (typeof body.stop === 'string') config.stopSequences = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.length > 0) config.stopSequences = body.stop;
  if (typeof body.n === 'number' && body.n > 1) {
    // One stream carries one candidate's chunks (choice index 0).
    if (stream) throw refuse('n', 'Gemini streams one choice through this gateway; use n: 1 or a non-streamed call');
    config.candidateCount = body.n;
  }
  const format = isObject(body.response_format) ? body.response_format : undefined;
  if (format?.type === 'json_object' || format?.type === 'json_schema') {
    config.responseMimeType = 'application/json';
    const schema = isObject(format.json_schema) ? format.json_schema.schema : undefined;
    if (isObject(schema)) config.responseJsonSchema = schema;
  }
  if (body.logprobs === true) throw refuse('logprobs', 'log probabilities are not translated from Gemini');
  if (isObject(body.logit_bias) && Object.keys(body.logit_bias).length > 0) throw refuse('logit_bias', 'Gemini has no logit bias');
  const audio = body.audio != null || (Array.isArray(body.modalities) && body.modalities.some((m) => m !== 'text'));
  if (audio) throw refuse(body.audio != null ? 'audio' : 'modalities', 'only text answers are translated from Gemini');
  return config;
}
