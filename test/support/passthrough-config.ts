import type { NativeSuite } from './native-config.ts';

/**
 * Providers and keys of the provider-native passthrough tests (test/passthrough.test.ts).
 * Each provider's root is `/pt/<name>` on the fixture server (its base URL minus `/v1`),
 * answered by test/fixtures/native/passthrough.ts.
 */

export const PT_CREDENTIALS = {
  PT_OPENAI_KEY: 'sk-provider-pt-openai-credential-0123',
  PT_COMPAT_KEY: 'sk-provider-pt-compat-credential-4567',
  PT_HF_TOKEN: 'hf_provider_pt_credential_89ab',
  PT_ANTHROPIC_KEY: 'sk-ant-provider-pt-credential-cdef',
  PT_GEMINI_KEY: 'AIza-provider-pt-credential-0123456',
  PT_AZURE_KEY: 'azure-provider-pt-credential-456789',
} as const;

/** Caller keys, by key id. */
export const PT_KEYS = {
  /** Every provider's passthrough. */
  'pt-all': 'sk-gw-pt-all-0123456789abcdef',
  /** pt-openai's only; its models are one alias. */
  'pt-openai-only': 'sk-gw-pt-openai-only-0123456789',
  /** Every model, no passthrough. */
  'pt-none': 'sk-gw-pt-none-0123456789abcdef',
  /** Two requests an hour. */
  'pt-limited': 'sk-gw-pt-limited-0123456789ab',
  /** 300 tokens a minute. */
  'pt-tpm': 'sk-gw-pt-tpm-0123456789abcdef',
  /** A daily budget: only priced models. */
  'pt-budget': 'sk-gw-pt-budget-0123456789abcd',
  /** Every provider's passthrough, payloads logged (test/payload-logs.test.ts). */
  'pt-payloads': 'sk-gw-pt-payloads-0123456789ab',
} as const;

const KEY_POLICIES: Record<keyof typeof PT_KEYS, object> = {
  'pt-all': { passthrough: ['*'] },
  'pt-openai-only': { passthrough: ['pt-openai'], models: ['gpt-test'] },
  'pt-none': { models: ['*'] },
  'pt-limited': { passthrough: ['*'], limits: { requests: [{ limit: 2, window_s: 3600 }] } },
  'pt-tpm': { passthrough: ['*'], limits: { tokens_per_minute: 300 } },
  'pt-budget': { passthrough: ['*'], limits: { budget_usd: { daily: 1 } } },
  'pt-payloads': { passthrough: ['*'], log_payloads: true },
};

const secretOf = (id: string) => `KEY_${id.toUpperCase().replaceAll('-', '_')}`;

export function passthroughSuite(root: string): NativeSuite {
  return {
    providers: {
      'pt-openai': { kind: 'openai', base_url: `${root}/pt/openai/v1`, api_key_secret: 'PT_OPENAI_KEY', headers: { 'OpenAI-Organization': 'org-pt' } },
      'pt-compat': {
        kind: 'openai-compatible', base_url: `${root}/pt/compat/v1`, api_key_secret: 'PT_COMPAT_KEY',
        timeouts: { first_byte_ms: 400, idle_ms: 400, total_ms: 1000 },
      },
      'pt-hf': { kind: 'huggingface', base_url: `${root}/pt/hf/v1`, api_key_secret: 'PT_HF_TOKEN' },
      'pt-anthropic': { kind: 'anthropic', base_url: `${root}/pt/anthropic`, api_key_secret: 'PT_ANTHROPIC_KEY', allow_private_network: true },
      'pt-gemini': { kind: 'gemini', base_url: `${root}/pt/gemini/v1beta`, api_key_secret: 'PT_GEMINI_KEY', allow_private_network: true },
      'pt-azure': { kind: 'azure', resource_url: `${root}/pt/azure`, api_key_secret: 'PT_AZURE_KEY', allow_private_network: true },
      // No credential: a local server.
      'pt-open': { kind: 'openai-compatible', base_url: `${root}/pt/open/v1` },
      'pt-demo': { kind: 'demo' },
    },
    models: {},
    prices: { 'pt-openai/gpt-pt': { input_per_mtok: 1000, output_per_mtok: 2000 } },
    secrets: {
      ...PT_CREDENTIALS,
      ...Object.fromEntries(Object.entries(PT_KEYS).map(([id, value]) => [secretOf(id), value])),
    },
    keys: Object.fromEntries(Object.entries(KEY_POLICIES).map(([id, policy]) => [id, { secrets: [secretOf(id)], ...policy }])),
  };
}
