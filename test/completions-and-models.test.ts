import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { KEYS } from './support/constants';
import { client, logRow, postJson } from './support/gateway';

describe('legacy completions', () => {
  it('answers, streamed and not, with usage logged', async () => {
    const { data, response } = await client().completions.create({ model: 'gpt-test', prompt: 'once upon a time' }).withResponse();
    expect(data.choices[0]!.text).toBe('echo: once upon a time');
    expect(await logRow(response.headers.get('x-request-id')!)).toMatchObject({ endpoint: 'completions', status: 200, prompt_tokens: 4 });

    const stream = await client().completions.create({ model: 'gpt-test', prompt: 'once upon a time', stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(data.choices[0]!.text);
  });

  it('says plainly when a provider has no completions endpoint', async () => {
    const res = await postJson('/v1/completions', { model: 'hf/some-model', prompt: 'x' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe('unsupported_endpoint');
  });
});

describe('models', () => {
  it('lists every alias for a key allowed everything', async () => {
    const ids: string[] = [];
    for await (const model of client().models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['gpt-test', 'embed-test', 'hf-chat', 'hf-embed', 'demo']));
  });

  it('lists only what a restricted key may use', async () => {
    const ids: string[] = [];
    for await (const model of client(KEYS.teamB).models.list()) ids.push(model.id);
    expect(ids).toEqual(['gpt-test']);
  });

  it('retrieves one model, including provider/model addresses with slashes', async () => {
    expect((await client().models.retrieve('gpt-test')).owned_by).toBe('openai');
    const hf = await client().models.retrieve('hf/BAAI/bge-small-en-v1.5');
    expect(hf).toMatchObject({ id: 'hf/BAAI/bge-small-en-v1.5', owned_by: 'hf' });
    await expect(client().models.retrieve('no-such-model')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client(KEYS.teamB).models.retrieve('demo')).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
  });
});
