import { z } from 'zod';
import { checkUrls, httpUrl } from '../config/provider-schema';
import type { JsonObject } from '../core/json';
import { GatewayError } from '../errors';
import { httpError } from './http-errors';
import { openAIFields } from './openai';
import { jsonRequest, OPENAI_PATHS, openAIAnswer, openAIRequestBody } from './openai-format';
import { openAIStream } from './openai-stream';
import type { Provider, UpstreamCall, UpstreamRequest } from './provider';
import { fixedUrl, idUrl } from './upstream-url';
import { DONE, type StreamTranslator, type Translated } from '../streaming/translator';
import type { SseEvent } from '../streaming/sse';

/**
 * Azure OpenAI (Azure OpenAI REST API reference, data plane inference). The body is
 * OpenAI's; what differs is the address and the key:
 * - `{resource}/openai/deployments/{deployment}/chat/completions?api-version=…`
 *   (and `/completions`, `/embeddings`): the deployment is the operator's name for a
 *   model, from `deployments`, else the model id itself;
 * - or, with `api_style = "v1"`, Azure's v1 API: `{resource}/openai/v1/chat/completions`
 *   with the deployment name as the body's `model` and no api-version;
 * - the key travels in the `api-key` header, never as a bearer and never in the URL
 *   (`auth = "entra"` sends a Microsoft Entra access token as a bearer instead).
 * Azure's additions are passed on untouched (`prompt_filter_results`,
 * `content_filter_results`, finish_reason `content_filter`), except where they would
 * break OpenAI's shape: a prompt the content filter blocks, and the annotation chunk
 * streams begin with (both below).
 */

/** Latest GA version of the data plane inference API (Azure OpenAI REST API reference, "API specs"). */
export const AZURE_API_VERSION = '2024-10-21';

/** Azure deployment names: letters, digits, `-`, `_`, `.`, starting with a letter or digit. Never a path. */
const DEPLOYMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const AzureConfig = z
  .strictObject({
    kind: z.literal('azure'),
    ...openAIFields,
    /** The resource's endpoint, e.g. https://my-resource.openai.azure.com (no `/openai`). */
    resource_url: httpUrl.optional(),
    /** Same as resource_url, for configs written like the other kinds'. */
    base_url: httpUrl.optional(),
    api_version: z
      .string()
      .regex(/^(?:\d{4}-\d{2}-\d{2}(?:-preview)?|preview|latest)$/, 'must be an Azure api-version such as "2024-10-21" or "2025-04-01-preview"')
      .optional(),
    /** Model id (as targets name it) → deployment name. A model not listed is its own deployment name. */
    deployments: z.record(z.string(), z.string().regex(DEPLOYMENT, 'must be an Azure deployment name (letters, digits, "-", "_", ".")')).default({}),
    api_style: z.enum(['deployments', 'v1']).default('deployments'),
    /** `api-key`: the secret is a resource key. `entra`: the secret is a Microsoft Entra access token, sent as a bearer. */
    auth: z.enum(['api-key', 'entra']).default('api-key'),
  })
  .superRefine((provider, ctx) => {
    if (provider.resource_url === undefined && provider.base_url === undefined) {
      ctx.addIssue({ code: 'custom', path: ['resource_url'], message: 'is required for kind "azure" (https://<resource>.openai.azure.com)' });
    } else if (provider.resource_url !== undefined && provider.base_url !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['base_url'], message: 'give resource_url or base_url, not both' });
    }
    checkUrls<typeof provider>(['resource_url', 'base_url'])(provider, ctx);
  });

type Call = UpstreamCall<z.output<typeof AzureConfig>>;

function deploymentOf(call: Call): string {
  const { deployments } = call.target.config;
  const model = call.target.model;
  const deployment = Object.hasOwn(deployments, model) ? deployments[model]! : model;
  // A caller may name any `azure/<id>`: only a plain deployment name goes into the path.
  if (!DEPLOYMENT.test(deployment)) {
    throw new GatewayError('invalid_request', 'This model id cannot be sent to Azure: it is not a deployment name (letters, digits, "-", "_", ".")', {
      param: 'model',
    });
  }
  return deployment;
}

function urlOf(call: Call, deployment: string): string {
  const { config } = call.target;
  const root = (config.resource_url ?? config.base_url)!.replace(/\/+$/, '');
  const path = OPENAI_PATHS[call.operation];
  if (config.api_style === 'v1') {
    const url = fixedUrl(root, `/openai/v1${path}`);
    return config.api_version ? `${url}?api-version=${config.api_version}` : url;
  }
  // idUrl encodes the name and proves the URL is still under the resource; the query is ours.
  return `${idUrl(`${root}/openai/deployments`, deployment, path)}?api-version=${config.api_version ?? AZURE_API_VERSION}`;
}

function requestOf(call: Call): UpstreamRequest {
  const deployment = deploymentOf(call);
  const body = openAIRequestBody(call);
  if (call.target.config.api_style === 'v1') body.model = deployment;
  // jsonRequest would send the credential as a bearer: Azure's key goes in `api-key`.
  const request = jsonRequest(urlOf(call, deployment), { ...call, credential: undefined }, body);
  if (call.credential) {
    if (call.target.config.auth === 'entra') request.headers.authorization = `Bearer ${call.credential}`;
    else request.headers['api-key'] = call.credential;
  }
  return request;
}

const PARAM_OF = { 'chat.completions': 'messages', completions: 'prompt', embeddings: 'input' } as const;

/**
 * Azure's content filter refusing the prompt: 400 with `code: "content_filter"` and
 * an `innererror` (`ResponsibleAIPolicyViolation`) naming the categories it flagged.
 * The caller's prompt has to change, so it is an invalid request that no retry or
 * other target fixes (unless the operator lists 400 in `failover_on`), and the code
 * says so: `content_filter`, not a generic rejection.
 */
function contentFilterError(call: Call, text: string): GatewayError | undefined {
  let error: { code?: unknown; innererror?: { code?: unknown; content_filter_result?: unknown } } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    return undefined;
  }
  if (typeof error !== 'object' || error === null) return undefined;
  if (error.code !== 'content_filter' && error.innererror?.code !== 'ResponsibleAIPolicyViolation') return undefined;
  const flagged = flaggedCategories(error.innererror?.content_filter_result);
  const message =
    `Provider "${call.target.provider}" (Azure OpenAI) refused the request: its content filter flagged the ${PARAM_OF[call.operation] === 'input' ? 'input' : 'prompt'}` +
    (flagged.length > 0 ? ` (${flagged.join(', ')})` : '');
  return new GatewayError('upstream_rejected', message, {
    status: 400,
    wireCode: 'content_filter',
    param: PARAM_OF[call.operation],
    upstreamStatus: 400,
    retryable: false,
    failover: false,
  });
}

/** `hate (medium)`, `jailbreak`: only names and severities that look like Azure's vocabulary. */
function flaggedCategories(result: unknown): string[] {
  if (typeof result !== 'object' || result === null) return [];
  const flagged: string[] = [];
  for (const [name, verdict] of Object.entries(result as JsonObject)) {
    const { filtered, severity } = (verdict ?? {}) as { filtered?: unknown; severity?: unknown };
    if (filtered !== true || !/^[a-z_]{1,40}$/.test(name)) continue;
    flagged.push(typeof severity === 'string' && /^[a-z_]{1,20}$/.test(severity) ? `${name} (${severity})` : name);
    if (flagged.length === 8) break;
  }
  return flagged;
}

/**
 * Azure opens a chat stream with an annotation chunk: empty `choices`, empty id and
 * model, only `prompt_filter_results` (`prompt_annotations` in older versions).
 * Relayed as is, it would be the stream's "first chunk": the attempt would count as
 * answered before the model said anything (a failure right after could no longer be
 * retried or failed over), and a client that did not ask for usage would get an
 * empty-`choices` chunk, which OpenAI only sends as the usage chunk. So it is held
 * and its results ride on the first real chunk instead (one parse per stream; the
 * other chunks pass through untouched, as OpenAI's do).
 */
export function azureStream(call: UpstreamCall): StreamTranslator {
  const openAI = openAIStream(call);
  let started = false;
  let held: { key: string; value: unknown } | undefined;
  return {
    push(event: SseEvent): Translated {
      if (started) return openAI.push(event);
      const annotation = promptAnnotation(event.data);
      if (annotation) {
        held = annotation;
        return null;
      }
      const out = openAI.push(event);
      if (typeof out !== 'string' || out === DONE) return out;
      started = true;
      return held ? withAnnotation(out, held) : out;
    },
    end: () => openAI.end(),
  };
}

const ANNOTATION_KEYS = ['prompt_filter_results', 'prompt_annotations'];

function promptAnnotation(data: string): { key: string; value: unknown } | undefined {
  if (!data.includes('"prompt_')) return undefined;
  let chunk: JsonObject;
  try {
    chunk = JSON.parse(data) as JsonObject;
  } catch {
    return undefined;
  }
  if (typeof chunk !== 'object' || chunk === null || !Array.isArray(chunk.choices) || chunk.choices.length > 0 || chunk.usage || chunk.error) return undefined;
  const key = ANNOTATION_KEYS.find((name) => chunk[name] !== undefined);
  return key ? { key, value: chunk[key] } : undefined;
}

function withAnnotation(data: string, annotation: { key: string; value: unknown }): string {
  try {
    const chunk = JSON.parse(data) as JsonObject;
    if (typeof chunk !== 'object' || chunk === null || Array.isArray(chunk) || chunk[annotation.key] !== undefined) return data;
    return JSON.stringify({ ...chunk, [annotation.key]: annotation.value });
  } catch {
    return data; // Not JSON: the relay refuses it as such.
  }
}

export const azure: Provider<typeof AzureConfig> = {
  kind: 'azure',
  config: AzureConfig,
  supports: () => true,
  buildRequest: requestOf,
  parseResponse: openAIAnswer,
  parseError(call, status, headers, text) {
    if (status === 400 && (text.includes('content_filter') || text.includes('ResponsibleAIPolicyViolation'))) {
      const filtered = contentFilterError(call, text);
      if (filtered) return filtered;
    }
    // 429s carry retry-after-ms / retry-after, read by httpError like OpenAI's.
    return httpError(call, status, headers, text);
  },
  streamTranslator: azureStream,
  // `/{name}/openai/...` for apps on Azure's SDKs: the resource's whole API (deployments, v1, files).
  passthrough: {
    root: (config) => (config.resource_url ?? config.base_url)!.replace(/\/+$/, ''),
    headers: (config, credential): Record<string, string> => {
      if (!credential) return { ...config.headers };
      return { ...config.headers, ...(config.auth === 'entra' ? { authorization: `Bearer ${credential}` } : { 'api-key': credential }) };
    },
  },
};
