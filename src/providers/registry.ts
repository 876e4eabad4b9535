import type { ProviderKind } from '../config/schema';
import { demo } from './demo';
import { huggingface } from './huggingface';
import { openai, openAICompatible } from './openai';
import type { Provider } from './provider';

/** Provider kinds the config may name. A new provider is one file and one line here. */
const PROVIDERS: Record<ProviderKind, Provider> = {
  openai,
  'openai-compatible': openAICompatible(undefined),
  huggingface,
  demo,
};

export function providerFor(kind: ProviderKind): Provider {
  return PROVIDERS[kind];
}
