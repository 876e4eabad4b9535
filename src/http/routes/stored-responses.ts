import type { Context } from 'hono';
import { deleteStored, listPage, listQuery, loadStored, responseNotFound } from '../../ingress/responses';
import { GatewayError } from '../../errors';
import type { AppEnv } from '../context';

/**
 * Responses this gateway composed and kept (`store: true`, src/ingress/responses/state.ts):
 * `GET /v1/responses/{id}`, `DELETE /v1/responses/{id}` and
 * `GET /v1/responses/{id}/input_items`, for the key that created them only. A
 * response forwarded natively to OpenAI (passthrough/native.ts) is OpenAI's to keep:
 * it is reached through `/openai/v1/responses/{id}` where the key may pass through.
 */

async function stored(c: Context<AppEnv>) {
  const id = c.req.param('id') ?? '';
  const found = await loadStored(c.env.CACHE, c.get('caller').keyId, id);
  if (!found?.response) throw responseNotFound(id);
  return { id, found, response: found.response };
}

export async function getResponse(c: Context<AppEnv>): Promise<Response> {
  // OpenAI replays background responses as a stream; this gateway keeps finished ones only.
  if (c.req.query('stream') === 'true') {
    throw new GatewayError('invalid_request', 'stream=true is not supported: this gateway keeps finished responses only; retrieve it without stream', { param: 'stream' });
  }
  return c.json((await stored(c)).response);
}

export async function deleteResponse(c: Context<AppEnv>): Promise<Response> {
  const { id } = await stored(c);
  await deleteStored(c.env.CACHE, c.get('caller').keyId, id);
  return c.json({ id, object: 'response', deleted: true });
}

export async function listInputItems(c: Context<AppEnv>): Promise<Response> {
  const query = listQuery(new URL(c.req.url).searchParams);
  const { found } = await stored(c);
  return c.json(listPage(found.input ?? [], query));
}
