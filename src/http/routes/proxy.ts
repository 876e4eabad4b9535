import type { Context } from 'hono';
import type { z } from 'zod';
import { StreamAssembler } from '../../cache/assemble';
import { isStorable, type CacheEntry } from '../../cache/entry';
import { readEntry, writeEntry } from '../../cache/kv-store';
import { planCache } from '../../cache/policy';
import { answerFromCache, cacheHeaders, newEntry } from '../../cache/serve';
import { joinFlight, leadFlight } from '../../cache/single-flight';
import { admit } from '../../limits/admission';
import { estimateTokens } from '../../limits/estimate';
import { upstreamCalls, type CallRecord } from '../../logging/call-record';
import { chaosFrom } from '../../routing/chaos';
import { dispatch, type Served } from '../../routing/dispatch';
import { authorize, resolveModel } from '../../routing/resolve';
import { relay } from '../../streaming/relay';
import { readUsage, recordUsage } from '../../streaming/usage';
import { readJsonObject, validate } from '../body';
import type { AppEnv } from '../context';
import type { Operation } from '../../core/operation';

type ApiSchema = z.ZodType<{ model: string; stream?: boolean | null; stream_options?: { include_usage?: boolean } | null }>;

/**
 * One handler for every model endpoint: read and validate the body, resolve and
 * authorize the model, admit it against the key's limits, answer from the cache
 * when it can, otherwise dispatch to the route's targets and answer in OpenAI's
 * shape (JSON, or SSE relayed as it arrives), storing complete answers.
 */
export function proxy(endpoint: Operation, schema: ApiSchema) {
  return async function handle(c: Context<AppEnv>): Promise<Response> {
    const config = c.get('config');
    const call = c.get('call');
    const body = await readJsonObject(c.req.raw, config.max_body_bytes);
    const request = validate(schema, body);
    const stream = endpoint !== 'embeddings' && request.stream === true;
    const clientWantsUsage = request.stream_options?.include_usage === true;
    call.model = request.model;
    call.stream = stream;

    const route = resolveModel(config, request.model);
    const caller = c.get('caller');
    authorize(caller.policy, route);
    const admission = await admit({ env: c.env, config, keyId: caller.keyId, route, endpoint, body, call, ctx: c.executionCtx });
    if (admission) c.set('admission', admission);

    const decision = await planCache(config, route, endpoint, body, c.req.raw.headers, caller.keyId);
    const plan = decision && 'use' in decision ? decision.use : undefined;
    const headers: Record<string, string> = { ...admission?.headers };
    if (decision) {
      call.cacheStatus = plan ? (plan.lookup ? 'MISS' : 'REFRESH') : 'BYPASS';
      Object.assign(headers, cacheHeaders(call.cacheStatus));
      // Names the KV key, so an operator can purge this one entry (README, "Response cache").
      if (plan) headers['x-gateway-cache-key'] = plan.key;
    }
    if (plan?.lookup) {
      const longest = Math.max(...route.targets.map((t) => t.timeouts.total_ms));
      const entry = (await readEntry(c.env.CACHE, plan.key, Date.now())) ?? (await joinFlight(plan.key, longest));
      if (entry?.endpoint === endpoint) return answerFromCache(entry, call, stream, clientWantsUsage, headers);
    }

    const flight = plan?.store ? leadFlight(plan.key) : undefined;
    let served: Served;
    try {
      served = await dispatch(
        {
          endpoint, body, stream, requestId: call.requestId, env: c.env, clientSignal: c.req.raw.signal, record: call,
          settings: config.routing, ctx: c.executionCtx, chaos: chaosFrom(c.req.raw.headers, caller),
        },
        route,
      );
    } catch (error) {
      flight?.land(undefined);
      throw error;
    }
    Object.assign(headers, {
      'x-gateway-provider': served.target.provider,
      'x-gateway-model': served.target.model,
      'x-gateway-attempts': String(upstreamCalls(call)),
      'x-gateway-overhead-ms': String(overheadMs(call)),
    });
    /** Stores a complete answer and hands it to identical calls waiting for it. */
    const keep = (answer: Record<string, unknown> | undefined) => {
      let entry: CacheEntry | undefined;
      if (plan?.store && answer && isStorable(endpoint, answer, plan.policy)) {
        entry = newEntry(endpoint, answer, served.target.provider, served.target.model, plan.ttlMs);
        const write = writeEntry(c.env.CACHE, plan.key, entry, plan.policy.max_entry_bytes);
        if (write) c.executionCtx.waitUntil(write);
      }
      flight?.land(entry);
    };

    if (!stream) {
      const usage = readUsage(served.json?.usage);
      if (usage) recordUsage(call, usage);
      if (plan) keep(served.json);
      if (served.text !== undefined) {
        return new Response(served.text, { headers: { ...headers, 'content-type': 'application/json' } });
      }
      return c.json(served.json, 200, headers);
    }
    const tap = plan?.store ? streamTap(endpoint, keep) : undefined;
    // Counted only for a stream the provider reports no usage for; the limiter's own estimate.
    const estimatePrompt = () => estimateTokens(endpoint, body, config.limits).prompt;
    return new Response(relay({ served, record: call, clientWantsUsage, clientSignal: c.req.raw.signal, estimatePrompt, tap }), {
      headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
    });
  };
}

function streamTap(endpoint: Operation, keep: (answer: Record<string, unknown> | undefined) => void) {
  const assembler = new StreamAssembler(endpoint);
  return {
    chunk: (data: string) => assembler.push(data),
    end: (complete: boolean) => keep(complete ? assembler.result() : undefined),
  };
}

/** The gateway's own time so far: everything but upstream attempts and the waits between them. */
function overheadMs(call: CallRecord): number {
  const upstream = call.attemptLog.reduce((sum, a) => sum + a.latencyMs + a.waitMs, 0);
  return Math.max(0, Date.now() - call.startedAt - upstream);
}
