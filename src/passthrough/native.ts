import type { Caller } from '../auth/key-ring';
import type { GatewayConfig } from '../config/schema';
import type { JsonObject } from '../core/json';
import type { Route } from '../core/target';
import { GatewayError } from '../errors';
import { guardPlan } from '../guardrails/plan';
import { providerFor } from '../providers/registry';
import { authorize, resolveModel } from '../routing/resolve';
import { estimation, type ForwardInput, forwardOn, type Prepared } from './forward';
import { upstreamUrl } from './path';

/**
 * Native forwarding: a `/v1/messages` call whose model routes to exactly one
 * Anthropic target, or a `/v1/responses` call routed to exactly one OpenAI target,
 * goes to that provider's own endpoint as the caller wrote it (only `model` becomes
 * the target's id), through the passthrough machinery (header hygiene, the
 * provider's credential, limits, usage read from the answer, one log row). What
 * translating to the internal chat shape would lose is kept: prompt caching,
 * thinking blocks and their signatures, server and built-in tools, reasoning items,
 * `previous_response_id` held by the provider.
 *
 * Only single-target routes qualify: with several targets the call is translated,
 * so retries and failover to another provider (of any kind) still work. Calls with
 * guardrails or payload logs are translated too. There is no
 * cache on this path, and the provider's errors reach the caller in its own shape,
 * which is the shape the caller speaks. `routing.native_forwarding: false` turns it off,
 * and an alias's `native` overrides that for the alias.
 */

export type NativeApi = 'messages' | 'responses';

const NATIVE: Record<NativeApi, { kinds: ReadonlySet<string>; path: string }> = {
  messages: { kinds: new Set(['anthropic']), path: '/v1/messages' },
  // Azure's v1 API has /openai/v1/responses, but its deployments and api styles vary: translated.
  responses: { kinds: new Set(['openai']), path: '/v1/responses' },
};

/**
 * The route a call is forwarded natively on, or undefined to translate it. The key's
 * `models` permission applies as for any call (not its `passthrough` list): the caller
 * asked for a model, not for a provider's API.
 */
export function nativeRoute(config: GatewayConfig, caller: Caller, api: NativeApi, body: JsonObject): Route | undefined {
  if (typeof body.model !== 'string') return undefined;
  let route: Route;
  try {
    route = resolveModel(config, body.model);
  } catch (error) {
    // An unknown model: the translating path refuses it, after checking the body.
    if (error instanceof GatewayError) return undefined;
    throw error;
  }
  if (route.targets.length !== 1 || !NATIVE[api].kinds.has(route.targets[0]!.config.kind)) return undefined;
  const alias = Object.hasOwn(config.models, route.model) ? config.models[route.model] : undefined;
  if (!(alias?.native ?? config.routing.native_forwarding)) return undefined;
  authorize(caller.policy, route);
  // Guardrails and payload logs read and keep the chat shape: such calls are translated, never waved through.
  if (guardPlan(config, caller.keyId, route.model) || caller.policy.log_payloads || alias?.log_payloads) return undefined;
  return route;
}

const encoder = new TextEncoder();

export function forwardNative(api: NativeApi, route: Route, body: JsonObject, input: Omit<ForwardInput, 'body'>): Promise<Response> {
  const target = route.targets[0]!;
  const passthrough = providerFor(target.config.kind).passthrough!;
  const prepared: Prepared = {
    provider: target.provider, settings: target.config, passthrough, method: 'POST',
    url: upstreamUrl(passthrough.root(target.config, input.env), NATIVE[api].path, ''),
  };
  const bytes = encoder.encode(JSON.stringify({ ...body, model: target.model }));
  const estimate = { ...estimation(bytes, 'application/json'), model: route.model };
  return forwardOn(prepared, { ...input, body: bytes }, estimate, route);
}
