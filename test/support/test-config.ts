import { KEYS, PROVIDER_SECRETS } from './constants.ts';
import { nativeSuites } from './native-config.ts';

/**
 * The GATEWAY_CONFIG the test Worker runs with. Every provider is the fixture
 * upstream (test/fixtures/upstream.ts) under a different path prefix; fault
 * behaviour is picked by model name (`fixture/fault-500`).
 */
export function testGatewayConfig(port: number) {
  const root = `http://127.0.0.1:${port}`;
  const quick = { first_byte_ms: 400, idle_ms: 400, total_ms: 3000 };
  const native = nativeSuites(root);
  return {
    max_body_bytes: 64 * 1024,
    providers: onLoopback({
      openai: { kind: 'openai', base_url: `${root}/openai/v1`, api_key_secret: 'OPENAI_API_KEY' },
      fixture: { kind: 'openai-compatible', base_url: `${root}/compat/v1`, api_key_secret: 'FIXTURE_API_KEY' },
      hf: {
        kind: 'huggingface',
        base_url: `${root}/hf/v1`,
        feature_extraction_url: `${root}/hf/models`,
        api_key_secret: 'HF_TOKEN',
      },
      quick: { kind: 'openai-compatible', base_url: `${root}/quick/v1`, timeouts: quick },
      // Total time shorter than a slow stream takes: tests the total timeout.
      brief: { kind: 'openai-compatible', base_url: `${root}/brief/v1`, timeouts: { first_byte_ms: 400, idle_ms: 400, total_ms: 500 } },
      plain: { kind: 'openai-compatible', base_url: `${root}/plain/v1`, stream_usage: false },
      // Nothing listens on port 9: connection refused.
      dead: { kind: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1' },
      demo: { kind: 'demo' },
      demo2: { kind: 'demo' },
      retrying: { kind: 'openai-compatible', base_url: `${root}/retrying/v1` },
      // Breakers that open fast, for the breaker tests.
      breaky: { kind: 'openai-compatible', base_url: `${root}/breaky/v1`, breaker: { failures: 3, cooldown_ms: 600, jitter: 0 } },
      // Refuses connections (nothing listens on port 9): a real outage, fast 503 once its breaker opens.
      downish: { kind: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1', breaker: { failures: 1, cooldown_ms: 5000, jitter: 0 } },
      // Never answers in time: unreachable too, but the fixture sees each call (probe tests).
      hangy: { kind: 'openai-compatible', base_url: `${root}/hangy/v1`, timeouts: { first_byte_ms: 150, idle_ms: 400, total_ms: 3000 }, breaker: { failures: 3, cooldown_ms: 600, jitter: 0 } },
      // Answer, but fail some prompts: breakers that must not eject a model's last way out.
      picky: { kind: 'openai-compatible', base_url: `${root}/picky/v1`, breaker: { failures: 2, cooldown_ms: 30_000, jitter: 0 } },
      picky2: { kind: 'openai-compatible', base_url: `${root}/picky2/v1`, breaker: { failures: 1, cooldown_ms: 30_000, jitter: 0 } },
      // Rate limits the gateway (fault-429-*), and serves other models normally.
      limited: { kind: 'openai-compatible', base_url: `${root}/limited/v1` },
      // One account-wide limit: a 429 on one model backs off every model of the provider.
      account: { kind: 'openai-compatible', base_url: `${root}/account/v1`, rate_limit_scope: 'provider' },
      // Reads at most 1 MiB of a non-streamed answer, with a short idle timeout.
      huge: { kind: 'openai-compatible', base_url: `${root}/huge/v1`, max_response_bytes: 1024 * 1024, timeouts: { first_byte_ms: 2000, idle_ms: 300, total_ms: 5000 } },
      ...native.providers,
    }),
    models: {
      'gpt-test': { targets: [{ provider: 'openai', model: 'gpt-test' }] },
      'embed-test': { targets: [{ provider: 'openai', model: 'text-embedding-test' }] },
      'hf-chat': { targets: [{ provider: 'hf', model: 'meta-llama/Llama-3.1-8B-Instruct' }] },
      'hf-embed': { targets: [{ provider: 'hf', model: 'BAAI/bge-small-en-v1.5' }] },
      'failover-500': {
        targets: [
          { provider: 'fixture', model: 'fault-500' },
          { provider: 'openai', model: 'gpt-test' },
        ],
      },
      'failover-refused': {
        targets: [
          { provider: 'dead', model: 'anything' },
          { provider: 'openai', model: 'gpt-test' },
        ],
      },
      'failover-hang': {
        targets: [
          { provider: 'quick', model: 'fault-hang' },
          { provider: 'openai', model: 'gpt-test' },
        ],
      },
      'no-failover-400': {
        targets: [
          { provider: 'fixture', model: 'fault-400' },
          { provider: 'openai', model: 'gpt-test' },
        ],
      },
      demo: { targets: [{ provider: 'demo', model: 'demo-1' }] },
      // Its own upstream model: a fleet rule covers its targets however they are called.
      'fleet-model': { targets: [{ provider: 'fixture', model: 'fleet-upstream' }] },
      // Resilience (retries per alias; the gateway default in tests is none).
      ...Object.fromEntries(
        ['429ms', '429s', '429date', '429reset', '429garbage', '500'].map((mode) => [
          `retry-${mode}`,
          { targets: [{ provider: 'retrying', model: `flaky-${mode}` }], retry: { retries: 2, base_ms: 20, cap_ms: 50 } },
        ]),
      ),
      'retry-then-failover': {
        targets: [{ provider: 'fixture', model: 'fault-500' }, { provider: 'openai', model: 'gpt-test' }],
        retry: { retries: 2, base_ms: 10, cap_ms: 20 },
      },
      'huge-wait': {
        targets: [{ provider: 'retrying', model: 'fault-429-huge' }, { provider: 'openai', model: 'gpt-test' }],
        retry: { retries: 2, base_ms: 10, cap_ms: 20 },
      },
      'failover-on-429': {
        targets: [{ provider: 'fixture', model: 'fault-429' }, { provider: 'openai', model: 'gpt-test' }],
        retry: { retries: 3, base_ms: 10, cap_ms: 20 },
        failover_on: [429],
      },
      'stream-error-first': { targets: [{ provider: 'fixture', model: 'fault-error-first' }, { provider: 'openai', model: 'gpt-test' }] },
      'breaker-dead': { targets: [{ provider: 'hangy', model: 'fault-hang' }] },
      'breaker-answering': { targets: [{ provider: 'breaky', model: 'fault-500' }] },
      fragile: { targets: [{ provider: 'picky', model: 'fault-500-on-poison' }] },
      'fragile-pair': { targets: [{ provider: 'picky2', model: 'fault-500' }, { provider: 'openai', model: 'gpt-test' }] },
      'backoff-429': { targets: [{ provider: 'limited', model: 'fault-429-1s' }] },
      'backoff-other': { targets: [{ provider: 'limited', model: 'gpt-test' }] },
      'all-down': { targets: [{ provider: 'downish', model: 'fault-503' }, { provider: 'downish', model: 'fault-502' }] },
      storm: { targets: [{ provider: 'fixture', model: 'fault-503' }], retry: { retries: 3, base_ms: 1, cap_ms: 2 } },
      weighted: { tiers: [{ targets: [{ provider: 'demo', model: 'demo-1', weight: 3 }, { provider: 'demo2', model: 'demo-1', weight: 1 }] }] },
      fastest: {
        strategy: 'latency',
        tiers: [{ targets: [{ provider: 'fixture', model: 'fault-slow-stream' }, { provider: 'openai', model: 'gpt-test' }] }],
      },
      'chaos-route': { targets: [{ provider: 'openai', model: 'gpt-test' }, { provider: 'fixture', model: 'echo-model' }], retry: { retries: 1, base_ms: 10, cap_ms: 20 } },
      // Cached aliases (the cache is off gateway-wide, on per alias).
      cached: { targets: [{ provider: 'openai', model: 'gpt-test' }], cache: { enabled: true } },
      'cached-embed': { targets: [{ provider: 'openai', model: 'text-embedding-test' }], cache: { enabled: true } },
      'cached-slow': { targets: [{ provider: 'fixture', model: 'fault-slow-stream' }], cache: { enabled: true } },
      'cached-500': { targets: [{ provider: 'fixture', model: 'fault-500' }], cache: { enabled: true } },
      'cached-reset': { targets: [{ provider: 'fixture', model: 'fault-reset-stream' }], cache: { enabled: true } },
      'cached-no-done': { targets: [{ provider: 'fixture', model: 'fault-no-done' }], cache: { enabled: true } },
      // Limits exactness (test/limits-exactness.test.ts): rules and prices follow the upstream model.
      'exact-chat': { targets: [{ provider: 'fixture', model: 'exact-chat' }] },
      'exact-direct-alias': { targets: [{ provider: 'fixture', model: 'exact-direct' }] },
      'exact-fleet': { targets: [{ provider: 'fixture', model: 'exact-fleet' }] },
      'exact-fleet-alias': { targets: [{ provider: 'fixture', model: 'exact-fleet-direct' }] },
      'priced-chat': { targets: [{ provider: 'fixture', model: 'priced-chat' }] },
      'half-priced': { targets: [{ provider: 'fixture', model: 'priced-chat' }, { provider: 'fixture', model: 'unpriced-chat' }] },
      // Payload logs and metadata (test/payload-logs.test.ts, test/metadata.test.ts).
      'logged-chat': { targets: [{ provider: 'openai', model: 'gpt-test' }], log_payloads: true },
      'logged-cached': { targets: [{ provider: 'openai', model: 'gpt-test' }], log_payloads: true, cache: { enabled: true } },
      'logged-cut': { targets: [{ provider: 'fixture', model: 'fault-reset-stream' }], log_payloads: true },
      ...native.models,
    },
    keys: {
      'team-a': { secrets: ['KEY_TEAM_A', 'KEY_TEAM_A_NEXT'], models: ['*'] },
      'team-b': { secrets: ['KEY_TEAM_B', 'KEY_TEAM_B_UNSET'], models: ['gpt-test', 'fixture/*'] },
      ...limitedKeys(),
      chaos: { secrets: ['KEY_CHAOS'], chaos: true },
      // Two tenants sharing one cache scope.
      'tenant-x1': { secrets: ['KEY_TENANT_X1'], cache_scope: 'tenant-x' },
      'tenant-x2': { secrets: ['KEY_TENANT_X2'], cache_scope: 'tenant-x' },
      tagged: { secrets: ['KEY_TAGGED'], metadata: { team: 'search', tier: 2 } },
      payloads: { secrets: ['KEY_PAYLOADS'], log_payloads: true },
      ...native.keys,
    },
    limits: {
      models: {
        'fleet-model': { requests: [{ limit: 3, window_s: 3600 }] },
        'exact-fleet': { requests: [{ limit: 2, window_s: 600 }] },
        'fixture/exact-fleet-direct': { requests: [{ limit: 2, window_s: 600 }] },
      },
      auth_failures: { limit: 5, window_s: 60 },
      default_max_tokens: 50,
    },
    prices: {
      'openai/gpt-test': { input_per_mtok: 10, output_per_mtok: 30 },
      'demo/demo-1': { input_per_mtok: 0, output_per_mtok: 0 },
      // A key with a budget may call only priced models (the settlement test's calls).
      'openai/text-embedding-test': { input_per_mtok: 0.1, output_per_mtok: 0 },
      'fixture/fault-500': { input_per_mtok: 10, output_per_mtok: 30 },
      'fixture/fault-stall-stream': { input_per_mtok: 10, output_per_mtok: 30 },
      'fixture/priced-chat': { input_per_mtok: 100, output_per_mtok: 300 },
      // A provider without stream usage: the gateway counts its streams (stream-accounting tests).
      'plain/echo': { input_per_mtok: 10, output_per_mtok: 30 },
      ...native.prices,
    },
    log: { batch_size: 20, flush_ms: 5, redact_patterns: ['ticket-[0-9]{6}'], payload_max_bytes: 16_384 },
    // Tests of one behaviour should not trip another: no retries, breakers and retry
    // budget out of reach, unless a test's alias or provider asks for them.
    routing: {
      retry: { retries: 0, base_ms: 10, cap_ms: 50 },
      breaker: { failures: 100_000, cooldown_ms: 1000, jitter: 0, probe_lease_ms: 1000 },
      retry_budget: { ratio: 10, min_per_window: 1_000_000, window_s: 10 },
      // The ingress tests prove translation (the OpenAI fixture has no /v1/responses);
      // native forwarding is proven on aliases that set `native: true` (native-forwarding-config.ts).
      native_forwarding: false,
    },
  };
}

/**
 * Every fixture upstream listens on 127.0.0.1, which the config check refuses
 * unless the provider sets `allow_private_network` (src/config/base-url.ts).
 */
function onLoopback<T extends Record<string, object>>(providers: T): T {
  return Object.fromEntries(
    Object.entries(providers).map(([name, p]) => [name, 'base_url' in p ? { ...p, allow_private_network: true } : p]),
  ) as T;
}

/** Keys with limits, one per scenario (limiter state is per key id). Secret = `sk-limited-<id>`. */
export const LIMITED_KEYS = {
  requests: { requests: [{ limit: 5, window_s: 3600 }] },
  headers: { requests: [{ limit: 100, window_s: 60 }, { limit: 1000, window_s: 3600 }], tokens_per_minute: 100000 },
  tokens: { tokens_per_minute: 300 },
  budget: { budget_usd: { daily: 0.002 } },
  free: { budget_usd: { daily: 0.000001 } },
  concurrency: { concurrency: 5 },
  settle: { tokens_per_minute: 10_000_000, budget_usd: { daily: 100, monthly: 1000 } },
  'per-model': { requests: [{ limit: 100, window_s: 3600 }], models: { 'gpt-test': { requests: [{ limit: 2, window_s: 3600 }] } } },
  backoff: { requests: [{ limit: 1, window_s: 3600 }] },
  'fleet-a': {},
  'fleet-b': {},
  unavailable: { requests: [{ limit: 100, window_s: 60 }] },
  'cache-hits': { requests: [{ limit: 1000, window_s: 60 }], tokens_per_minute: 1_000_000, budget_usd: { daily: 10 } },
  evict: { requests: [{ limit: 100, window_s: 3600 }], tokens_per_minute: 1_000_000 },
  ...Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`exact-${i}`, { requests: [{ limit: 37, window_s: 3600 }] }])),
  // test/limits-exactness.test.ts
  'rule-alias': { models: { 'exact-chat': { requests: [{ limit: 2, window_s: 600 }] } } },
  'rule-direct': { models: { 'fixture/exact-direct': { requests: [{ limit: 2, window_s: 600 }] } } },
  'tpm-exact': { models: { 'gpt-test': { tokens_per_minute: 1000 } } },
  'tpm-reserve': { tokens_per_minute: 1_000_000 },
  'budget-exact': { budget_usd: { daily: 0.02 } },
  'budget-unpriced': { budget_usd: { daily: 0.05 } },
  'budget-default': { budget_usd: { daily: 0.05 } },
  // test/stream-accounting.test.ts: aborted streams give their slot back and are charged.
  'abort-slots': { concurrency: 8 },
  'abort-early': { concurrency: 1 },
  'abort-tokens': { tokens_per_minute: 200 },
  // test/limits-leases.test.ts: rules large enough to be leased (src/limits/lease-book.ts).
  leased: { requests: [{ limit: 1000, window_s: 3600 }] },
  // test/provider-gemini.test.ts: embeddings with no provider usage still count against tokens.
  'embed-tpm': { tokens_per_minute: 40 },
  // Concurrency limits large enough for slot pools (src/limits/slot-pool.ts): 64 allows pools of 4.
  pooled: { concurrency: 64 },
  'pooled-hot': { concurrency: 10_000, requests: [{ limit: 1_000_000, window_s: 3600 }] },
  'leased-tpm': { tokens_per_minute: 16_000, budget_usd: { daily: 0.5 } },
  'leased-hot': { requests: [{ limit: 1_000_000, window_s: 3600 }], tokens_per_minute: 100_000_000 },
  'leased-expiry': { requests: [{ limit: 6400, window_s: 3600 }] },
} as const;

function limitedKeys() {
  return Object.fromEntries(
    Object.entries(LIMITED_KEYS).map(([id, limits]) => [id, { secrets: [secretName(id)], models: ['*'], limits }]),
  );
}

function secretName(id: string): string {
  return `KEY_LIMITED_${id.toUpperCase().replaceAll('-', '_')}`;
}

export function limitedKey(id: keyof typeof LIMITED_KEYS | `exact-${number}`): string {
  return `sk-limited-${id}`;
}

export function testBindings(port: number): Record<string, unknown> {
  return {
    GATEWAY_CONFIG: testGatewayConfig(port),
    KEY_TEAM_A: KEYS.teamA,
    KEY_TEAM_A_NEXT: KEYS.teamANext,
    KEY_TEAM_B: KEYS.teamB,
    ...PROVIDER_SECRETS,
    ...nativeSuites(`http://127.0.0.1:${port}`).secrets,
    KEY_CHAOS: 'sk-chaos-monkey',
    KEY_TENANT_X1: 'sk-tenant-x1',
    KEY_TENANT_X2: 'sk-tenant-x2',
    KEY_TAGGED: 'sk-gw-tagged-0123456789',
    KEY_PAYLOADS: 'sk-gw-payloads-0123456789',
    ...Object.fromEntries(Object.keys(LIMITED_KEYS).map((id) => [secretName(id), `sk-limited-${id}`])),
    UPSTREAM_ORIGIN: `http://127.0.0.1:${port}`,
  };
}
