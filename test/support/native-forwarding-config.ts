import type { NativeSuite } from './native-config.ts';

/**
 * Aliases of the native-forwarding tests (test/native-forwarding.test.ts). The test
 * config turns `routing.native_forwarding` off for the other ingress tests, which prove
 * translation; these aliases turn it on (`native: true`).
 */

/** The Responses fixture's credential (test/fixtures/native/openai-responses.ts). */
export const RESPONSES_CREDENTIAL = 'sk-provider-responses-fixture-7c1e5a';
/** The usage the Responses fixture reports on every answer (cached and reasoning tokens included). */
export const RESPONSES_USAGE = {
  input_tokens: 40, input_tokens_details: { cached_tokens: 32 },
  output_tokens: 6, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 46,
};

export function nativeForwardingSuite(root: string): NativeSuite {
  return {
    providers: {
      'openai-responses': { kind: 'openai', base_url: `${root}/openai-responses/v1`, api_key_secret: 'RESPONSES_API_KEY', allow_private_network: true },
    },
    models: {
      // One Anthropic target: forwarded natively. "prompt-cache": the fixture reports cache reads and writes.
      'native-claude': { targets: [{ provider: 'anthropic', model: 'claude-fx-prompt-cache' }], native: true },
      // The same target with native forwarding off for it: translated.
      'native-claude-off': { targets: [{ provider: 'anthropic', model: 'claude-fx' }], native: false },
      // Two targets: translated, so the OpenAI target answers when Anthropic fails.
      'native-claude-pair': { targets: [{ provider: 'anthropic', model: 'fault-500' }, { provider: 'openai', model: 'gpt-test' }], native: true },
      'native-gpt': { targets: [{ provider: 'openai-responses', model: 'gpt-fx-responses' }], native: true },
      'native-gpt-fault': { targets: [{ provider: 'openai-responses', model: 'fault-400' }], native: true },
      // One OpenAI target whose upstream speaks only chat completions: translated.
      'native-gpt-off': { targets: [{ provider: 'openai', model: 'gpt-test' }], native: false },
    },
    secrets: { RESPONSES_API_KEY: RESPONSES_CREDENTIAL },
  };
}
