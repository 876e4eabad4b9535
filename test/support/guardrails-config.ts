import { testBindings, testGatewayConfig } from './test-config.ts';

/**
 * The guardrail tests' Worker config: the shared test config plus guardrails, keys
 * that attach them (secret = `sk-guard-<id>`), classifier models on the fixture
 * (test/fixtures/native/guard.ts), and a gateway-wide default guardrail. Passed
 * to the Worker as an env patch (test/guardrails.test.ts), so no other test runs
 * with guardrails.
 */

const pii = (mode: string, applies_to = 'both') => ({ kind: 'pii', mode, applies_to });

export const GUARDRAILS = {
  'pii-redact': pii('redact'),
  'pii-block': pii('block', 'input'),
  'pii-flag': pii('flag', 'input'),
  'pii-out-redact': pii('redact', 'output'),
  'pii-out-block': pii('block', 'output'),
  'secrets-redact': { kind: 'secrets', mode: 'redact' },
  'secrets-out-block': { kind: 'secrets', mode: 'block', applies_to: 'output' },
  'words-block': { kind: 'patterns', mode: 'block', applies_to: 'input', deny: ['forbidden', { regex: 'launch\\s+codes?' }], allow: ['not forbidden'] },
  'words-redact': { kind: 'patterns', mode: 'redact', deny: [{ regex: 'project\\s+[A-Z][a-z]+' }], placeholder: '[CODENAME]', case_sensitive: true },
  'words-out-flag': { kind: 'patterns', mode: 'flag', applies_to: 'output', deny: ['banana'] },
  'default-flag': { kind: 'patterns', mode: 'flag', applies_to: 'input', deny: ['zebra-crossing'] },
  injection: { kind: 'injection', mode: 'block' },
  'injection-flag': { kind: 'injection', mode: 'flag' },
  'classifier-model': { kind: 'injection', mode: 'block', threshold: 1, classifier: { model: 'guard-llama', timeout_ms: 1000, on_error: 'closed' } },
  'classifier-slow-open': { kind: 'injection', mode: 'block', threshold: 1, classifier: { model: 'guard-slow', timeout_ms: 300, on_error: 'open' } },
  'classifier-slow-closed': { kind: 'injection', mode: 'block', threshold: 1, classifier: { model: 'guard-slow', timeout_ms: 300, on_error: 'closed' } },
  'classifier-garbage': { kind: 'injection', mode: 'block', threshold: 1, classifier: { model: 'guard-garbage', on_error: 'closed' } },
  moderation: { kind: 'injection', mode: 'block', threshold: 1, classifier: { url: '', api_key_secret: 'GUARD_MODERATION_KEY', model: 'omni-moderation-latest', allow_private_network: true } },
  'moderation-broken-open': { kind: 'injection', mode: 'flag', threshold: 1, classifier: { url: '', model: 'moderation-broken', allow_private_network: true, on_error: 'open' } },
  size: { kind: 'size', mode: 'block', max_messages: 3, max_tools: 1, max_prompt_tokens: 400 },
  'size-flag': { kind: 'size', mode: 'flag', max_messages: 1 },
  'size-output': { kind: 'size', mode: 'block', max_output_chars: 24 },
} as const;

/** Key id → the guardrails it attaches. */
export const GUARD_KEYS: Record<string, string[]> = {
  'pii-redact': ['pii-redact'],
  'pii-block': ['pii-block'],
  'pii-flag': ['pii-flag'],
  'pii-out-redact': ['pii-out-redact'],
  'pii-out-block': ['pii-out-block'],
  secrets: ['secrets-redact'],
  'secrets-out-block': ['secrets-out-block'],
  words: ['words-block', 'words-redact'],
  'words-out-flag': ['words-out-flag'],
  injection: ['injection'],
  'injection-flag': ['injection-flag'],
  'classifier-model': ['classifier-model'],
  'classifier-slow-open': ['classifier-slow-open'],
  'classifier-slow-closed': ['classifier-slow-closed'],
  'classifier-garbage': ['classifier-garbage'],
  moderation: ['moderation'],
  'moderation-broken-open': ['moderation-broken-open'],
  size: ['size'],
  'size-flag': ['size-flag'],
  'size-output': ['size-output'],
  // Two keys sharing a cache scope: one redacts answers, the other does not.
  'shared-plain': [],
  'shared-redact': ['pii-out-redact'],
  plain: [],
};

export const guardKey = (id: string) => `sk-guard-${id}`;
const secretOf = (id: string) => `KEY_GUARD_${id.toUpperCase().replaceAll('-', '_')}`;
export const MODERATION_KEY = 'sk-moderation-fixture-key';

export function guardrailsConfig(port: number) {
  const base = testGatewayConfig(port);
  const root = `http://127.0.0.1:${port}`;
  const guardrails: Record<string, object> = structuredClone(GUARDRAILS) as Record<string, object>;
  for (const name of ['moderation', 'moderation-broken-open']) (guardrails[name] as { classifier: { url: string } }).classifier.url = `${root}/guard/v1/moderations`;
  return {
    ...base,
    providers: { ...base.providers, guard: { kind: 'openai-compatible', base_url: `${root}/guard/v1`, allow_private_network: true } },
    models: {
      ...base.models,
      'guard-llama': { targets: [{ provider: 'guard', model: 'llama-guard-fixture' }] },
      'guard-slow': { targets: [{ provider: 'guard', model: 'guard-slow' }] },
      'guard-garbage': { targets: [{ provider: 'guard', model: 'guard-garbage' }] },
      // Every call of this alias runs words-block, whatever the key.
      'guarded-alias': { targets: [{ provider: 'openai', model: 'gpt-test' }], guardrails: ['words-block'] },
      'guarded-cached': { targets: [{ provider: 'openai', model: 'gpt-test' }], cache: { enabled: true } },
    },
    keys: {
      ...base.keys,
      ...Object.fromEntries(
        Object.entries(GUARD_KEYS).map(([id, names]) => [
          id,
          { secrets: [secretOf(id)], guardrails: names, ...(id.startsWith('shared-') ? { cache_scope: 'guard-shared' } : {}) },
        ]),
      ),
    },
    guardrails,
    guardrails_default: ['default-flag'],
  };
}

/** The Worker's env bindings for the guardrail tests: the shared ones, this config, its keys' secrets. */
export function guardrailsBindings(port: number): Record<string, unknown> {
  return {
    ...testBindings(port),
    GATEWAY_CONFIG: guardrailsConfig(port),
    GUARD_MODERATION_KEY: MODERATION_KEY,
    ...Object.fromEntries(Object.keys(GUARD_KEYS).map((id) => [secretOf(id), guardKey(id)])),
  };
}
