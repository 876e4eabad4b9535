import { z } from 'zod';
import { checkUrls, httpUrl, secretName } from '../config/provider-schema';
import { GatewayError } from '../errors';
import { httpError } from './http-errors';
import { openAIFields } from './openai';
import { jsonRequest, OPENAI_PATHS, openAIAnswer, openAIRequestBody } from './openai-format';
import { openAIStream } from './openai-stream';
import { fetchUpstream, type Provider, type UpstreamCall, type UpstreamRequest } from './provider';
import { fixedUrl } from './upstream-url';
import { bindingAnswer, bindingInputs, bindingStream } from './workers-ai-binding';

/**
 * Cloudflare Workers AI, two ways (Workers AI docs):
 * - REST, through its OpenAI-compatible endpoints
 *   `https://api.cloudflare.com/client/v4/accounts/{account_id}/ai/v1/chat/completions`
 *   and `/embeddings`, with a Cloudflare API token as the bearer: OpenAI's wire
 *   format, handled as the openai kind handles it;
 * - the Worker's own Workers AI binding (`binding = "AI"`, the name wrangler.toml's
 *   `[ai] binding` gives it): `send` calls `env.AI.run(model, inputs, options)`, with
 *   no token, no account id and no URL, and workers-ai-binding.ts maps the native
 *   inputs and outputs to OpenAI's shapes.
 * Neither has legacy completions (400 `unsupported_endpoint`).
 */

const API = 'https://api.cloudflare.com/client/v4';
const ACCOUNT_ID = /^[0-9a-f]{32}$/;
/** Stands for the account id in a REST URL when it lives in a secret: only `send` has the env to read it. */
const ACCOUNT_SLOT = '{account_id}';

const WorkersAIConfig = z
  .strictObject({
    kind: z.literal('workers-ai'),
    ...openAIFields,
    /** Name of the Worker's Workers AI binding; set, calls go through it instead of REST. */
    binding: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of a Worker binding (letters, digits, _)').optional(),
    account_id: z.string().regex(ACCOUNT_ID, 'must be a Cloudflare account id (32 hex digits)').optional(),
    /** Name of the Worker secret holding the account id, for configs that keep it out of wrangler.toml. */
    account_id_secret: secretName.optional(),
    /** Root of Cloudflare's API (REST only); https://api.cloudflare.com/client/v4 when absent. */
    base_url: httpUrl.optional(),
  })
  .superRefine((provider, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (provider.binding !== undefined) {
      for (const field of ['account_id', 'account_id_secret', 'api_key_secret', 'base_url'] as const) {
        if (provider[field] !== undefined) issue(field, 'is not used with `binding`: calls go through the Worker binding');
      }
    } else {
      if (provider.account_id === undefined && provider.account_id_secret === undefined) {
        issue('account_id', 'is required for kind "workers-ai" without `binding` (or account_id_secret)');
      }
      if (provider.account_id !== undefined && provider.account_id_secret !== undefined) issue('account_id_secret', 'give account_id or account_id_secret, not both');
      if (provider.api_key_secret === undefined) {
        issue('api_key_secret', 'is required for kind "workers-ai" without `binding` (a Cloudflare API token with Workers AI access)');
      }
    }
    checkUrls<typeof provider>(['base_url'])(provider, ctx);
  });

type Call = UpstreamCall<z.output<typeof WorkersAIConfig>>;

function restRequest(call: Call): UpstreamRequest {
  const { config } = call.target;
  const root = `${(config.base_url ?? API).replace(/\/+$/, '')}/accounts/${config.account_id ?? ACCOUNT_SLOT}/ai/v1`;
  return jsonRequest(fixedUrl(root, OPENAI_PATHS[call.operation]), call, openAIRequestBody(call));
}

function bindingRequest(call: Call, binding: string): UpstreamRequest {
  // Not fetched: send() hands the inputs to the binding. The URL only names the call.
  const url = `workers-ai-binding://${binding}/${encodeURIComponent(call.target.model)}`;
  return { url, method: 'POST', headers: { 'x-request-id': call.requestId }, body: JSON.stringify(bindingInputs(call)) };
}

function missing(call: Call, what: string, detail: string): GatewayError {
  console.error(`provider "${call.target.provider}": ${detail}`);
  return new GatewayError('upstream_failed', `Provider "${call.target.provider}" has no ${what} configured`, { failover: true });
}

/** The account id from its secret (checked: it becomes a path segment), or undefined. */
function accountFrom(env: object, name: string): string | undefined {
  const account = (env as Record<string, unknown>)[name];
  return typeof account === 'string' && ACCOUNT_ID.test(account) ? account : undefined;
}

/** The REST URL with the account id from its secret. */
function withAccount(request: UpstreamRequest, call: Call, env: object): UpstreamRequest {
  const name = call.target.config.account_id_secret!;
  const account = accountFrom(env, name);
  if (!account) throw missing(call, 'Workers AI account id', `secret ${name} is not set, or is not a Cloudflare account id (32 hex digits)`);
  return { ...request, url: request.url.replace(ACCOUNT_SLOT, account) };
}

type Settings = z.output<typeof WorkersAIConfig>;

/**
 * `/{provider}/…` reaches the account's Workers AI REST API under `…/accounts/{id}/ai`:
 * `/run/@cf/…` (the native inputs) and `/v1/…` (its OpenAI-compatible endpoints). A
 * provider on the `AI` binding has no URL to forward to.
 */
function passthroughRoot(config: Settings, env: object): string {
  if (config.binding !== undefined) {
    throw new GatewayError('unknown_url', 'This Workers AI provider runs on the AI binding, which has no HTTP API to pass through to; give it an account_id to use passthrough');
  }
  const account = config.account_id ?? accountFrom(env, config.account_id_secret!);
  if (!account) {
    console.error(`Workers AI passthrough: secret ${config.account_id_secret} is not set, or is not a Cloudflare account id (32 hex digits)`);
    throw new GatewayError('upstream_failed', 'This Workers AI provider has no account id configured');
  }
  return `${(config.base_url ?? API).replace(/\/+$/, '')}/accounts/${account}/ai`;
}

interface AiBinding {
  run(model: string, inputs: unknown, options?: object): Promise<unknown>;
}

/**
 * One `run()`, as a Response the attempt can read like any upstream's. A binding
 * cannot be aborted once called, so a timeout or a departed client stops the wait
 * instead. Its failures are thrown as errors whose message starts with Workers AI's
 * internal code (`3040: …`); they become the HTTP status that code has on the REST
 * API (Workers AI docs, "Errors"), so they are retried, failed over and reported as
 * any provider's.
 */
async function runBinding(request: UpstreamRequest, call: Call, env: object, name: string): Promise<Response> {
  const ai = (env as Record<string, Partial<AiBinding> | undefined>)[name];
  if (typeof ai?.run !== 'function') throw missing(call, 'Workers AI binding', `the Worker has no Workers AI binding "${name}" (wrangler.toml: [ai] binding = "${name}")`);
  const inputs: unknown = JSON.parse(request.body);
  let output: unknown;
  try {
    const options = { signal: call.signal, extraHeaders: { 'x-request-id': call.requestId } };
    output = await untilAborted(Promise.resolve().then(() => ai.run!(call.target.model, inputs, options)), call.signal);
  } catch (error) {
    if (call.signal.aborted) throw error;
    return bindingFailure(error);
  }
  if (output instanceof ReadableStream) return new Response(output, { headers: { 'content-type': 'text/event-stream' } });
  return Response.json(output);
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Workers AI's internal error codes and their HTTP statuses (Workers AI docs, "Errors"; timeouts as 504). */
const STATUS_OF_CODE: Record<string, number> = {
  '5007': 400, '5004': 400, '5006': 400, '3039': 400, '3003': 400,
  '5018': 403, '5016': 403, '3023': 403, '3041': 403,
  '3042': 404, '5019': 405, '5005': 405, '3006': 413,
  '3036': 429, '3040': 429, '3007': 504, '3008': 502,
};

function bindingFailure(error: unknown): Response {
  const said = error instanceof Error ? error.message : String(error);
  const [, code, message = said] = /^(\d{4}): ?(.*)$/s.exec(said) ?? [];
  const status = (code && STATUS_OF_CODE[code]) || 500;
  return Response.json({ error: { message, code: code ?? null } }, { status });
}

/** Cloudflare's API envelope (`{"success":false,"errors":[{"code","message"}]}`) in OpenAI's error shape, for httpError. */
function openAIErrorText(text: string): string {
  try {
    const first = (JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] }).errors?.[0];
    if (typeof first?.message === 'string') return JSON.stringify({ error: { message: first.message, code: first.code === undefined ? null : String(first.code) } });
  } catch {
    // Not JSON: httpError keeps only the status.
  }
  return text;
}

export const workersAI: Provider<typeof WorkersAIConfig> = {
  kind: 'workers-ai',
  config: WorkersAIConfig,
  supports: (operation) => operation !== 'completions',

  buildRequest(call) {
    const { binding } = call.target.config;
    return binding === undefined ? restRequest(call) : bindingRequest(call, binding);
  },

  send(request, call, env) {
    const { binding, account_id_secret } = call.target.config;
    if (binding !== undefined) return runBinding(request, call, env, binding);
    return fetchUpstream(account_id_secret === undefined ? request : withAccount(request, call, env), call);
  },

  parseResponse: (call, json) => (call.target.config.binding === undefined ? openAIAnswer(call, json) : bindingAnswer(call, json)),
  parseError: (call, status, headers, text) => httpError(call, status, headers, text.includes('"errors"') ? openAIErrorText(text) : text),
  streamTranslator: (call) => (call.target.config.binding === undefined ? openAIStream(call) : bindingStream(call)),
  passthrough: {
    root: passthroughRoot,
    headers: (_config, credential): Record<string, string> => (credential ? { authorization: `Bearer ${credential}` } : {}),
  },
};
