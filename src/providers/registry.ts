import { z } from 'zod';
import { anthropic } from './anthropic';
import { azure } from './azure';
import { demo } from './demo';
import { gemini } from './gemini';
import { huggingface } from './huggingface';
import { openai, openaiCompatible } from './openai';
import type { Provider } from './provider';
import { workersAI } from './workers-ai';

/** Provider kinds the config may name. A new provider is one file and one line here. */
const PROVIDERS = [openai, openaiCompatible, huggingface, demo, anthropic, azure, workersAI, gemini] as const;

type Configs<T extends readonly { config: unknown }[]> = { [K in keyof T]: T[K]['config'] };

/** `providers.<name>` of the gateway config: each kind's own schema, chosen by `kind`. */
export const ProviderConfigSchema = z.discriminatedUnion(
  'kind',
  // The tuple's element types are exactly the providers' schemas; map() only loses that to the type checker.
  PROVIDERS.map((provider) => provider.config) as unknown as Configs<typeof PROVIDERS>,
  { error: (issue) => (issue.code === 'invalid_union' ? `must be one of ${PROVIDERS.map((p) => `"${p.kind}"`).join(', ')}` : undefined) },
);

const byKind = new Map<string, Provider>(PROVIDERS.map((provider) => [provider.kind, provider]));

/** The provider of a validated config's kind. */
export function providerFor(kind: string): Provider {
  return byKind.get(kind)!;
}
