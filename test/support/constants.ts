/** Secrets the test Worker runs with; shared by the Node side (bindings) and the tests. */
export const KEYS = {
  teamA: 'sk-gw-team-a-0123456789abcdef',
  teamANext: 'sk-gw-team-a-next-fedcba9876543210',
  teamB: 'sk-gw-team-b-00112233445566778899',
} as const;

export const PROVIDER_SECRETS = {
  OPENAI_API_KEY: 'sk-provider-openai-test-credential',
  FIXTURE_API_KEY: 'sk-provider-compat-test-credential',
  HF_TOKEN: 'hf_provider_test_credential_123',
} as const;
