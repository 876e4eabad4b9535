import type { NativeSuite } from './native-config.ts';

/**
 * Anthropic providers, models and prices for the tests (test/provider-anthropic.test.ts),
 * all served by the Anthropic fixture (test/fixtures/native/anthropic.ts).
 */

/** The provider credential: the fixture refuses any other x-api-key; no answer may ever show it. */
export const ANTHROPIC_CREDENTIAL = 'sk-ant-fixture-credential-4f2d9c81b7e6';
/** What the fixture's `stop-refusal` models say. */
export const ANTHROPIC_REFUSAL = "I can't help with that request.";

export function anthropicSuite(root: string): NativeSuite {
  const base = { kind: 'anthropic', base_url: `${root}/anthropic`, api_key_secret: 'ANTHROPIC_API_KEY', allow_private_network: true };
  return {
    providers: {
      anthropic: base,
      // A small default max_tokens, another API version and a static header, to see them sent.
      'anthropic-tuned': { ...base, max_tokens: 3, anthropic_version: '2023-01-01', headers: { 'anthropic-beta': 'fixture-beta-1' } },
      // Budget thinking whatever the model id says, with its own medium budget (test/reasoning-anthropic.test.ts).
      'anthropic-budget': { ...base, thinking: 'budget', thinking_budgets: { medium: 2000 } },
      // Its secret is a wrong credential: the fixture answers 401.
      'anthropic-badkey': { ...base, api_key_secret: 'ANTHROPIC_WRONG_KEY' },
    },
    models: {
      claude: { targets: [{ provider: 'anthropic', model: 'claude-fx' }] },
      // Cross-provider failover: the OpenAI-format fixture fails with 500, Anthropic answers.
      'claude-after-openai': { targets: [{ provider: 'fixture', model: 'fault-500' }, { provider: 'anthropic', model: 'claude-fx' }] },
      // Anthropic overloaded (529): the next target, an OpenAI one, answers.
      'claude-overloaded': { targets: [{ provider: 'anthropic', model: 'fault-529' }, { provider: 'openai', model: 'gpt-test' }] },
      'claude-error-first': { targets: [{ provider: 'anthropic', model: 'fault-error-first' }, { provider: 'openai', model: 'gpt-test' }] },
      'claude-retry-529': { targets: [{ provider: 'anthropic', model: 'flaky-529' }], retry: { retries: 2, base_ms: 10, cap_ms: 20 } },
    },
    prices: {
      'anthropic/prompt-cache': { input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.3, cache_write_input_per_mtok: 3.75 },
      // No cache prices: reads and writes cost the input price.
      'anthropic/prompt-cache-plain': { input_per_mtok: 3, output_per_mtok: 15 },
    },
    secrets: { ANTHROPIC_API_KEY: ANTHROPIC_CREDENTIAL, ANTHROPIC_WRONG_KEY: 'sk-ant-not-the-right-one-0000' },
  };
}
