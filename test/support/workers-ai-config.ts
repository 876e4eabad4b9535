import type { NativeSuite } from './native-config.ts';

/**
 * Workers AI test providers: REST on the fixture server (test/fixtures/native/workers-ai.ts),
 * and the `AI` binding, which vitest.config.ts gives the test Worker as a stand-in
 * (test/fixtures/workers-ai-binding.mjs) that posts to the same fixture server.
 */

export const WAI_ACCOUNT_ID = '0123456789abcdef0123456789abcdef';
/** Looks like a Cloudflare API token (40 characters). */
export const WAI_TOKEN = 'cfut_Wk3rsAiT0kenF1xture0000000000000000';

export const WAI_SECRETS = { CF_AI_TOKEN: WAI_TOKEN, CF_ACCOUNT_ID: WAI_ACCOUNT_ID, CF_ACCOUNT_ID_BAD: '../../zones' };

export function workersAISuite(root: string): NativeSuite {
  const rest = { kind: 'workers-ai', base_url: `${root}/workers-ai/client/v4`, api_key_secret: 'CF_AI_TOKEN', allow_private_network: true };
  return {
    providers: {
      wai: { ...rest, account_id: WAI_ACCOUNT_ID },
      'wai-secret': { ...rest, account_id_secret: 'CF_ACCOUNT_ID' },
      'wai-bad-account': { ...rest, account_id_secret: 'CF_ACCOUNT_ID_BAD' },
      'wai-binding': { kind: 'workers-ai', binding: 'AI' },
      'wai-unbound': { kind: 'workers-ai', binding: 'AI_NOT_BOUND' },
      'wai-binding-quick': { kind: 'workers-ai', binding: 'AI', timeouts: { first_byte_ms: 300, idle_ms: 300, total_ms: 2000 } },
    },
    models: {
      'wai-chat': { targets: [{ provider: 'wai-binding', model: '@cf/meta/llama-3.1-8b-instruct' }] },
      'wai-embed': { targets: [{ provider: 'wai-binding', model: '@cf/baai/bge-base-en-v1.5' }] },
      // Out of capacity on the binding (3040, a 429): the REST target serves.
      'wai-capacity-failover': {
        targets: [{ provider: 'wai-binding', model: '@cf/fixture/fault-capacity' }, { provider: 'wai', model: '@cf/meta/llama-3.1-8b-instruct' }],
      },
    },
    prices: {
      'wai-binding/@cf/meta/llama-3.1-8b-instruct': { input_per_mtok: 0.28, output_per_mtok: 0.83 },
      'wai/@cf/meta/llama-3.1-8b-instruct': { input_per_mtok: 0.28, output_per_mtok: 0.83 },
    },
    secrets: WAI_SECRETS,
  };
}
