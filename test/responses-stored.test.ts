import OpenAI from 'openai';
import type { ResponseItem, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { describe, expect, inject, it } from 'vitest';
import { KEYS } from './support/constants';
import { clientError, expectError } from './support/errors';
import { BASE, client, gateway, inWorker, logRow, upstreamSaw } from './support/gateway';
import { guardKey, guardrailsBindings } from './support/guardrails-config';

/**
 * Responses kept with `store: true` are read back, listed and deleted through the
 * real client (`responses.retrieve`, `responses.inputItems.list`, `responses.delete`),
 * by the key that created them and no other.
 */

const textOf = (item: ResponseItem) =>
  item.type === 'message' ? item.content.map((part) => ('text' in part ? part.text : '')).join('') : item.type;

describe('stored responses', () => {
  it('gives back a stored response exactly as it was answered, JSON or streamed', async () => {
    const created = await client().responses.create({ model: 'gpt-test', instructions: 'Be terse.', input: 'keep me', store: true, metadata: { run: 'a' } });
    expect(await client().responses.retrieve(created.id)).toEqual(created);

    const stream = await client().responses.create({ model: 'gpt-test', input: 'keep me streamed', stream: true, store: true });
    let completed: Extract<ResponseStreamEvent, { type: 'response.completed' }> | undefined;
    for await (const event of stream) if (event.type === 'response.completed') completed = event;
    // The client adds output_text to what it retrieves (not to stream events).
    const { output_text, ...retrieved } = await client().responses.retrieve(completed!.response.id);
    expect(output_text).toBe('echo: keep me streamed');
    expect(retrieved).toEqual(JSON.parse(JSON.stringify(completed!.response)));
  });

  it('lists its input items with ids, newest first by default, in pages the client follows', async () => {
    const created = await client().responses.create({
      model: 'gpt-test',
      store: true,
      input: [
        { role: 'user', content: 'first' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'second' }] },
        { role: 'user', content: 'third' },
      ],
    });
    const page = await client().responses.inputItems.list(created.id);
    expect(page.data.map(textOf)).toEqual(['third', 'second', 'first']);
    expect(page.data.every((item) => item.type === 'message' && /^msg_/.test(item.id))).toBe(true);
    expect(new Set(page.data.map((item) => item.id)).size).toBe(3);
    expect(page.has_more).toBe(false);

    const firstTwo = await client().responses.inputItems.list(created.id, { order: 'asc', limit: 2 });
    expect(firstTwo.data.map(textOf)).toEqual(['first', 'second']);
    expect(firstTwo.has_more).toBe(true);
    // The client pages on by `after`: every item once, in order.
    const all: string[] = [];
    for await (const item of client().responses.inputItems.list(created.id, { order: 'asc', limit: 2 })) all.push(textOf(item));
    expect(all).toEqual(['first', 'second', 'third']);
  });

  it('deletes a stored response: it is then gone for retrieval and for previous_response_id', async () => {
    const created = await client().responses.create({ model: 'gpt-test', input: 'delete me', store: true });
    const res = await gateway(`/v1/responses/${created.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${KEYS.teamA}` } });
    expect(res.status).toBe(200);
    // Logged by what was done, not by the response id.
    expect(await logRow(res.headers.get('x-request-id')!)).toMatchObject({ endpoint: 'responses.delete', status: 200, key_id: 'team-a' });
    expect(await res.json()).toEqual({ id: created.id, object: 'response', deleted: true });
    expect(await clientError(client().responses.retrieve(created.id))).toBeInstanceOf(OpenAI.NotFoundError);
    const next = await clientError(client().responses.create({ model: 'gpt-test', previous_response_id: created.id, input: 'next' }));
    expect(next.status).toBe(404);
    // The real client's delete resolves once the gateway says so; a second one finds nothing.
    const again = await client().responses.create({ model: 'gpt-test', input: 'delete me too', store: true });
    await client().responses.delete(again.id);
    expect((await clientError(client().responses.delete(again.id))).status).toBe(404);
  });

  it('never shows or deletes one key a response of another, nor one kept without store: true', async () => {
    const mine = await client().responses.create({ model: 'gpt-test', input: 'mine only', store: true });
    const other = client(KEYS.teamB);
    const read = await clientError(other.responses.retrieve(mine.id));
    expect(read).toBeInstanceOf(OpenAI.NotFoundError);
    expect(read.error).toMatchObject({ code: 'not_found', type: 'invalid_request_error' });
    expect((await clientError(other.responses.delete(mine.id))).status).toBe(404);
    expect((await clientError(other.responses.inputItems.list(mine.id))).status).toBe(404);
    expect((await client().responses.retrieve(mine.id)).id).toBe(mine.id);

    const unstored = await client().responses.create({ model: 'gpt-test', input: 'forget me' });
    expect((await clientError(client().responses.retrieve(unstored.id))).status).toBe(404);
  });

  it('refuses a bad page query and a stream replay by name', async () => {
    const created = await client().responses.create({ model: 'gpt-test', input: 'page me', store: true });
    const get = (query: string) => gateway(`/v1/responses/${created.id}${query}`, { headers: { authorization: `Bearer ${KEYS.teamA}` } });
    await expectError(await get('/input_items?limit=101'), { status: 400, code: 'invalid_request', param: 'limit' });
    await expectError(await get('/input_items?order=sideways'), { status: 400, code: 'invalid_request', param: 'order' });
    await expectError(await get('/input_items?after=msg_nope'), { status: 400, code: 'invalid_request', param: 'after' });
    await expectError(await get('?stream=true'), { status: 400, code: 'invalid_request', param: 'stream' });
    const put = await gateway(`/v1/responses/${created.id}`, { method: 'PUT', headers: { authorization: `Bearer ${KEYS.teamA}` } });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, DELETE');
  });

  it('keeps what input guardrails let through: a prompt redacted on its way up is stored redacted', async () => {
    const patch = guardrailsBindings(inject('upstreamPort'));
    const guarded = (fetch: (request: Request) => Promise<Response>) =>
      new OpenAI({ apiKey: guardKey('pii-redact'), baseURL: `${BASE}/v1`, maxRetries: 0, fetch: (input, init) => fetch(new Request(input as RequestInfo, init as RequestInit)) });
    // One worker context per step: the first one's KV write is done when it resolves.
    const first = await inWorker(patch, (fetch) =>
      guarded(fetch).responses.create({ model: 'gpt-test', store: true, input: [{ role: 'user', content: 'mail me at jane.doe@example.com' }] }),
    );
    await inWorker(patch, async (fetch) => {
      const openai = guarded(fetch);
      const items = await openai.responses.inputItems.list(first.id);
      expect(items.data.map(textOf)).toEqual(['mail me at [EMAIL]']);
      expect(JSON.stringify(await openai.responses.retrieve(first.id))).not.toContain('jane.doe');
      const { response } = await openai.responses.create({ model: 'gpt-test', previous_response_id: first.id, input: 'again' }).withResponse();
      const seen = await upstreamSaw(response.headers.get('x-request-id')!);
      expect((seen[0]!.body.messages as { content: unknown }[])[0]).toEqual({ role: 'user', content: 'mail me at [EMAIL]' });
    });
  });
});
