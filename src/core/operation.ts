/**
 * What a call asks a model to do, whatever wire format it arrived in: the unit
 * routing, limits, cache, logging and providers agree on.
 */
export type Operation = 'chat.completions' | 'completions' | 'embeddings';
