/**
 * One spelling per upstream model, for matching limit rules and prices. Providers
 * resolve model ids loosely (OpenAI and Hugging Face ignore case; servers trim), so
 * `fx/Fixture-Chat` and `"fx/fixture-chat "` reach the model `fx/fixture-chat` does.
 * Limits and prices follow the model, not the caller's spelling of it. The provider
 * part is a config name, matched exactly (resolve.ts does the same).
 */
export function modelKey(provider: string, model: string): string {
  return `${provider}/${model.trim().toLowerCase()}`;
}

/** The `provider/model` of a config key (prices, rule names), split on the first `/`. */
export function configModelKey(name: string): string | undefined {
  const slash = name.indexOf('/');
  if (slash <= 0 || slash === name.length - 1) return undefined;
  return modelKey(name.slice(0, slash), name.slice(slash + 1));
}
