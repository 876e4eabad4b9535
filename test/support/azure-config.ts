import type { NativeSuite } from './native-config.ts';

/** Azure OpenAI test providers: all on the fixture server (test/fixtures/native/azure.ts). */

/** Looks like an Azure resource key (32 hex digits). */
export const AZURE_KEY = '3f1c9a7e52b84d06a9e1c4b7d2f80e6a';
/** Stands for a Microsoft Entra access token. */
export const AZURE_ENTRA_TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOi.entra-fixture-token.sig';
/** The model name Azure reports in its answers (the deployment's underlying model). */
export const AZURE_MODEL_NAME = 'gpt-4o-2024-08-06';

export const AZURE_SECRETS = { AZURE_OPENAI_KEY: AZURE_KEY, AZURE_ENTRA_TOKEN };

export function azureSuite(root: string): NativeSuite {
  const retry = { retries: 2, base_ms: 10, cap_ms: 20 };
  return {
    providers: {
      azure: {
        kind: 'azure',
        resource_url: `${root}/azure/east`,
        api_key_secret: 'AZURE_OPENAI_KEY',
        deployments: { 'gpt-4o': 'prod-gpt4o', 'text-embedding-3-small': 'embed-small', 'gpt-35-turbo-instruct': 'instruct' },
        allow_private_network: true,
      },
      'azure-v1': {
        kind: 'azure',
        base_url: `${root}/azure/west`,
        api_style: 'v1',
        api_key_secret: 'AZURE_OPENAI_KEY',
        deployments: { 'gpt-4o': 'prod-gpt4o' },
        allow_private_network: true,
      },
      'azure-entra': {
        kind: 'azure',
        resource_url: `${root}/azure/north/`,
        auth: 'entra',
        api_key_secret: 'AZURE_ENTRA_TOKEN',
        api_version: '2025-04-01-preview',
        allow_private_network: true,
      },
    },
    models: {
      'azure-chat': { targets: [{ provider: 'azure', model: 'gpt-4o' }] },
      'azure-embed': { targets: [{ provider: 'azure', model: 'text-embedding-3-small' }] },
      // Blocked by the content filter: neither retried nor failed over...
      'azure-filtered': { targets: [{ provider: 'azure', model: 'fault-content-filter' }, { provider: 'azure', model: 'gpt-4o' }], retry },
      // ...unless the operator lists 400 in failover_on.
      'azure-filtered-failover': {
        targets: [{ provider: 'azure', model: 'fault-content-filter' }, { provider: 'azure', model: 'gpt-4o' }],
        failover_on: [400],
      },
      // The prompt annotation is not the stream's first chunk: an error right after it still fails over.
      'azure-annotated-failure': { targets: [{ provider: 'azure', model: 'fault-annotation-then-error' }, { provider: 'azure', model: 'gpt-4o' }] },
    },
    prices: { 'azure/gpt-4o': { input_per_mtok: 2.5, output_per_mtok: 10 } },
    secrets: AZURE_SECRETS,
  };
}
