// The gateway's operator config for the bench (docs/configuration.md): two model aliases
// on the local upstream, cache on for one and off for the other; one limited key
// (several rules), one unlimited key, one key with a small limit (for over-admission);
// the D1 call log on (it always is: the DB binding).
export const SECRETS = { KEY_LIMITED: 'sk-bench-limited', KEY_LEASED: 'sk-bench-leased', KEY_OPEN: 'sk-bench-open', KEY_TIGHT: 'sk-bench-tight', KEY_GUARDED: 'sk-bench-guarded' };

/**
 * A typical guardrail set (docs/configuration.md, "Guardrails"): PII and secrets
 * redacted both ways (answers streamed through the output transform), heuristic
 * injection screening, a deny list and size limits. Only the `guarded` key runs
 * them; every other key's calls pay one memo lookup (none applies).
 */
export const TYPICAL_GUARDRAILS = {
  pii: { kind: 'pii', mode: 'redact' },
  secrets: { kind: 'secrets', mode: 'redact' },
  injection: { kind: 'injection', mode: 'block' },
  deny: { kind: 'patterns', mode: 'block', applies_to: 'input', deny: ['internal only', { regex: 'launch\\s+codes?' }] },
  size: { kind: 'size', mode: 'block', max_prompt_tokens: 8000, max_messages: 50, max_tools: 16 },
};

/** `tight` is the small limit the over-admission scenario pushes past; `guardrails: false` leaves them out of the config. */
export function gatewayConfig(upstreamUrl, { tight, guardrails = true }) {
  return {
    providers: {
      // allow_private_network: a loopback base_url is refused otherwise.
      local: { kind: 'openai-compatible', base_url: upstreamUrl, allow_private_network: true },
    },
    models: {
      cached: { targets: [{ provider: 'local', model: 'm' }], cache: { enabled: true } },
      uncached: { targets: [{ provider: 'local', model: 'm' }], cache: { enabled: false } },
    },
    keys: {
      limited: {
        secrets: ['KEY_LIMITED'],
        limits: {
          requests: [{ limit: 1e9, window_s: 60 }, { limit: 1e9, window_s: 3600 }],
          tokens_per_minute: 1e12,
          concurrency: 10_000,
          budget_usd: { daily: 1e9 },
        },
      },
      // The same rules without concurrency: admitted from quota leases (src/limits/lease-book.ts).
      leased: {
        secrets: ['KEY_LEASED'],
        limits: { requests: [{ limit: 1e9, window_s: 60 }, { limit: 1e9, window_s: 3600 }], tokens_per_minute: 1e12, budget_usd: { daily: 1e9 } },
      },
      open: { secrets: ['KEY_OPEN'] },
      tight: { secrets: ['KEY_TIGHT'], limits: { requests: [{ limit: tight, window_s: 3600 }] } },
      // No limits (like `open`), the typical guardrail set on.
      ...(guardrails ? { guarded: { secrets: ['KEY_GUARDED'], guardrails: Object.keys(TYPICAL_GUARDRAILS) } } : {}),
    },
    ...(guardrails ? { guardrails: TYPICAL_GUARDRAILS } : {}),
    prices: { 'local/m': { input_per_mtok: 1, output_per_mtok: 2 } },
  };
}

/** The limiter rules of the limited key whose counts are checked after the load (rules.ts names). */
export const LIMITED_COUNT_RULE = { name: 'requests:3600s', kind: 'requests', limit: 1e9, window_ms: 3_600_000 };
/** Its concurrency rule: after the load, every slot (pools and exact-path calls) must be back. */
export const LIMITED_CONCURRENCY_RULE = { name: 'concurrency', kind: 'concurrency', limit: 10_000 };
export const TIGHT_COUNT_RULE = (tight) => ({ name: 'requests:3600s', kind: 'requests', limit: tight, window_ms: 3_600_000 });
