import { expect } from 'vitest';
import { upstreamSaw, type RecordedRequest } from './gateway';

/** Helpers of the Gemini provider's tests (test/provider-gemini*.test.ts). */

/** What the Gemini fixture recorded: the request, and the URL's query (never the key). */
export type Seen = RecordedRequest & { query: Record<string, string> };
export type ErrorBody = { error: { message: string; type: string; param: string | null; code: string } };

/** The one request Gemini received for a gateway request id. */
export async function seenBy(id: string): Promise<Seen> {
  const seen = (await upstreamSaw(id)) as Seen[];
  expect(seen).toHaveLength(1);
  return seen[0]!;
}

export const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather by city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'], additionalProperties: false },
  },
};
export const time = { type: 'function' as const, function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } } };
