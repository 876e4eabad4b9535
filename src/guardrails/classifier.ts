import type { ClassifierConfig } from '../config/guardrails-schema';
import type { GatewayConfig } from '../config/schema';
import type { JsonObject } from '../core/json';
import { type Env, secret } from '../env';
import { newCallRecord } from '../logging/call-record';
import { dispatch } from '../routing/dispatch';
import { resolveModel } from '../routing/resolve';

/**
 * The model-based half of injection screening: asks a classifier whether the
 * screened text is unsafe, under the classifier's own timeout.
 *
 * - `model`: a model this gateway routes (e.g. Llama Guard on Workers AI), called
 *   through routing like any call (its retries and failover; not logged as a call
 *   of its own). It must answer `safe`, or `unsafe` and its categories (Llama
 *   Guard's convention); anything else is a failure.
 * - `url`: an OpenAI-compatible moderation endpoint (`POST {input, model}` →
 *   `results[].flagged`); unsafe when any result is flagged.
 *
 * A failure (error, timeout, an answer it cannot read) comes back as 'error', and
 * the guardrail's `on_error` decides.
 */

export type Verdict = 'safe' | 'unsafe' | 'error';

export interface ClassifyCall {
  config: GatewayConfig;
  env: Env;
  ctx: { waitUntil(promise: Promise<unknown>): void };
  requestId: string;
  clientSignal: AbortSignal;
}

/** Longest text a classifier is sent (its head): classifiers have small context windows. */
const MAX_CLASSIFIED_CHARS = 32_000;

export async function classify(classifier: ClassifierConfig, texts: readonly string[], call: ClassifyCall): Promise<Verdict> {
  const text = texts.join('\n\n').slice(0, MAX_CLASSIFIED_CHARS);
  const timeout = new AbortController();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timedOut = new Promise<Verdict>((resolve) => {
    timer = setTimeout(() => {
      timeout.abort();
      resolve('error');
    }, classifier.timeout_ms);
  });
  const signal = AbortSignal.any([call.clientSignal, timeout.signal]);
  const asking = 'url' in classifier ? moderation(classifier, text, call, signal) : routed(classifier.model, text, call, signal);
  try {
    return await Promise.race([asking.catch((): Verdict => 'error'), timedOut]);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

async function routed(model: string, text: string, call: ClassifyCall, signal: AbortSignal): Promise<Verdict> {
  const record = newCallRecord(call.requestId, 'guardrail');
  const body: JsonObject = { model, messages: [{ role: 'user', content: text }], temperature: 0, max_tokens: 32 };
  const served = await dispatch(
    { endpoint: 'chat.completions', body, stream: false, requestId: call.requestId, env: call.env, clientSignal: signal, record, settings: call.config.routing, ctx: call.ctx },
    resolveModel(call.config, model),
  );
  served.finish();
  const choices = served.json?.choices as { message?: { content?: unknown } }[] | undefined;
  const answer = choices?.[0]?.message?.content;
  if (typeof answer !== 'string') return 'error';
  const verdict = /^\s*(safe|unsafe)\b/i.exec(answer)?.[1]?.toLowerCase();
  return verdict === 'safe' || verdict === 'unsafe' ? verdict : 'error';
}

type ModerationConfig = Extract<ClassifierConfig, { url: string }>;

async function moderation(classifier: ModerationConfig, text: string, call: ClassifyCall, signal: AbortSignal): Promise<Verdict> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': call.requestId };
  if (classifier.api_key_secret) {
    const key = secret(call.env, classifier.api_key_secret);
    if (!key) return 'error';
    headers.authorization = `Bearer ${key}`;
  }
  const response = await fetch(classifier.url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ input: text, ...(classifier.model ? { model: classifier.model } : {}) }),
    signal,
    redirect: 'manual',
  });
  if (!response.ok) {
    await response.body?.cancel();
    return 'error';
  }
  const json = (await response.json()) as { results?: { flagged?: unknown }[] };
  if (!Array.isArray(json.results) || json.results.length === 0) return 'error';
  return json.results.some((r) => r?.flagged === true) ? 'unsafe' : 'safe';
}
