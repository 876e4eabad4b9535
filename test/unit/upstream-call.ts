import type { Provider, UpstreamCall } from '../../src/providers/provider';
import type { Operation } from '../../src/core/operation';

/** A call to one provider, its config parsed by the provider's own schema, for the providers' unit tests. */
export const CREDENTIAL = 'sk-unit-test-credential-0123456789abcdef';

export function upstreamCall<P extends Provider<any>>(
  provider: P,
  config: Record<string, unknown>,
  { operation = 'chat.completions', body = {}, stream = false, model = 'm-1' }: { operation?: Operation; body?: Record<string, unknown>; stream?: boolean; model?: string } = {},
): Parameters<P['buildRequest']>[0] {
  const parsed = provider.config.parse({ kind: provider.kind, ...config }) as UpstreamCall['target']['config'];
  return {
    operation,
    body: { model: 'alias', ...body },
    stream,
    target: {
      provider: 'prov',
      config: parsed,
      model,
      id: `prov/${model}`,
      weight: 1,
      timeouts: { first_byte_ms: 1000, idle_ms: 1000, total_ms: 1000 },
      maxResponseBytes: 1024,
      breaker: { failures: 5, cooldown_ms: 30_000, jitter: 0.2, probe_lease_ms: 30_000 },
    },
    credential: CREDENTIAL,
    requestId: 'req-1',
    signal: new AbortController().signal,
  };
}
