import type { NativeSuite } from './native-config.ts';

/**
 * The Gemini provider's test config (test/provider-gemini.test.ts); its upstream is
 * test/fixtures/native/gemini.ts under `/gemini/`, which picks behaviour by model id.
 */

/** The API key the fixture accepts in `x-goog-api-key`. */
export const GEMINI_API_KEY = 'AIzaSyFixtureGeminiKey0123456789abcdefghijk';
/** A key the fixture refuses as Google refuses a revoked one (400 API_KEY_INVALID); its error quotes it back. */
export const GEMINI_REVOKED_KEY = 'AIzaSyRevokedGeminiKey9876543210zyxwvutsrq';

export const GEMINI_PRICES = {
  'gemini/gemini-2.5-flash': { input_per_mtok: 0.3, output_per_mtok: 2.5 },
  'gemini/gemini-3-pro-preview': { input_per_mtok: 2, output_per_mtok: 12, cached_input_per_mtok: 0.2 },
} as const;

export function geminiSuite(root: string): NativeSuite {
  const base_url = `${root}/gemini/v1beta`;
  return {
    providers: {
      gemini: { kind: 'gemini', base_url, api_key_secret: 'GEMINI_API_KEY', allow_private_network: true },
      'gemini-revoked': { kind: 'gemini', base_url, api_key_secret: 'GEMINI_REVOKED_KEY', allow_private_network: true },
      'gemini-safe': {
        kind: 'gemini', base_url, api_key_secret: 'GEMINI_API_KEY', allow_private_network: true,
        safety_settings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_ONLY_HIGH' }],
      },
      'gemini-thoughts': { kind: 'gemini', base_url, api_key_secret: 'GEMINI_API_KEY', allow_private_network: true, include_thoughts: true },
      // Budgets whatever the model id says, with its own low budget (test/reasoning-gemini.test.ts).
      'gemini-budget': { kind: 'gemini', base_url, api_key_secret: 'GEMINI_API_KEY', allow_private_network: true, thinking: 'budget', thinking_budgets: { low: 2048 } },
    },
    models: {
      'gemini-chat': { targets: [{ provider: 'gemini', model: 'gemini-2.5-flash' }] },
      'gemini-embed': { targets: [{ provider: 'gemini', model: 'gemini-embedding-001' }] },
      // Gemini overloaded (503), or failing its stream before any data: the next target answers.
      'gemini-then-openai': { targets: [{ provider: 'gemini', model: 'fault-503' }, { provider: 'openai', model: 'gpt-test' }] },
      'gemini-stream-error-then-openai': { targets: [{ provider: 'gemini', model: 'fault-error-first' }, { provider: 'openai', model: 'gpt-test' }] },
    },
    prices: GEMINI_PRICES,
    secrets: { GEMINI_API_KEY, GEMINI_REVOKED_KEY },
  };
}
