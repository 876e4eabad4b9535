import { anthropicSuite } from './anthropic-config.ts';
import { passthroughSuite } from './passthrough-config.ts';
import { nativeForwardingSuite } from './native-forwarding-config.ts';

/**
 * Test config for providers that do not speak OpenAI's wire format: each one's
 * providers, models, prices and secrets, merged into the test Worker's
 * GATEWAY_CONFIG and bindings (test-config.ts). A new provider's test config is
 * one file beside this one plus one line in NATIVE_SUITES.
 */

import { azureSuite } from './azure-config.ts';
import { geminiSuite } from './gemini-config.ts';
import { workersAISuite } from './workers-ai-config.ts';

export interface NativeSuite {
  /** `providers.<name>`; base URLs on the fixture server are made loopback-safe by test-config.ts. */
  providers: Record<string, object>;
  models: Record<string, object>;
  prices?: Record<string, object>;
  /** Worker secrets (provider credentials, caller keys) the suite's providers and keys name. */
  secrets?: Record<string, string>;
  /** Caller keys the suite's tests need (their secrets in `secrets`). */
  keys?: Record<string, object>;
}

/** Each takes the fixture server's origin, e.g. http://127.0.0.1:4711. */
export const NATIVE_SUITES: ((root: string) => NativeSuite)[] = [
  anthropicSuite,
  azureSuite,
  workersAISuite,
  geminiSuite,
  passthroughSuite,
  nativeForwardingSuite,
];

export function nativeSuites(root: string): Required<NativeSuite> {
  const merged: Required<NativeSuite> = { providers: {}, models: {}, prices: {}, secrets: {}, keys: {} };
  for (const suite of NATIVE_SUITES.map((make) => make(root))) {
    Object.assign(merged.providers, suite.providers);
    Object.assign(merged.models, suite.models);
    Object.assign(merged.prices, suite.prices ?? {});
    Object.assign(merged.secrets, suite.secrets ?? {});
    Object.assign(merged.keys, suite.keys ?? {});
  }
  return merged;
}
