import { KEYS, PROVIDER_SECRETS } from './constants.ts';

/**
 * The GATEWAY_CONFIG the test Worker runs with. Every provider is the fixture
 * upstream (test/fixtures/upstream.ts) under a different path prefix; fault
 * behaviour is picked by model name (`fixture/fault-500`).
 */
export function testGatewayConfig(port: number) {
  const root = `http://127.0.0.1:${port}`;
  const quick = { first_byte_ms: 400, idle_ms: 400, total_ms: 3000 };
  return {
    max_body_bytes: 64 * 1024,
    providers: {
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
    },
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
    },
    keys: {
      'team-a': { secrets: ['KEY_TEAM_A', 'KEY_TEAM_A_NEXT'], models: ['*'] },
      'team-b': { secrets: ['KEY_TEAM_B', 'KEY_TEAM_B_UNSET'], models: ['gpt-test', 'fixture/*'] },
    },
    log: { batch_size: 20, flush_ms: 5 },
  };
}

export function testBindings(port: number): Record<string, unknown> {
  return {
    GATEWAY_CONFIG: testGatewayConfig(port),
    KEY_TEAM_A: KEYS.teamA,
    KEY_TEAM_A_NEXT: KEYS.teamANext,
    KEY_TEAM_B: KEYS.teamB,
    ...PROVIDER_SECRETS,
    UPSTREAM_ORIGIN: `http://127.0.0.1:${port}`,
  };
}
