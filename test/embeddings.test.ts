import { describe, expect, it } from 'vitest';
import { PROVIDER_SECRETS } from './support/constants';
import { client, logRow, postJson, upstreamSaw } from './support/gateway';

type EmbeddingList = { object: string; data: { index: number; embedding: number[] | string }[]; usage?: unknown };

function decodeBase64Floats(text: string): number[] {
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return Array.from(new Float32Array(bytes.buffer));
}

describe('embeddings', () => {
  it('serves the openai client its default (base64) and decodes to the float answer', async () => {
    const floats = (await (await postJson('/v1/embeddings', { model: 'embed-test', input: 'a b c', encoding_format: 'float' })).json()) as EmbeddingList;
    const { data, response } = await client().embeddings.create({ model: 'embed-test', input: 'a b c' }).withResponse();
    expect(data.data[0]!.embedding).toEqual(floats.data[0]!.embedding);
    expect(data.data[0]!.embedding).toHaveLength(4);
    const id = response.headers.get('x-request-id')!;
    const [seen] = await upstreamSaw(id);
    expect(seen!.body.encoding_format).toBe('base64');
    expect(await logRow(id)).toMatchObject({ endpoint: 'embeddings', status: 200, prompt_tokens: 3, stream: 0 });
  });

  it('embeds a batch, in order', async () => {
    const res = await client().embeddings.create({ model: 'embed-test', input: ['one', 'two', 'three'], encoding_format: 'float' });
    expect(res.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(res.data[0]!.embedding).not.toEqual(res.data[1]!.embedding);
  });

  it("maps Hugging Face feature extraction to OpenAI's shape, floats and base64", async () => {
    const res = await postJson('/v1/embeddings', { model: 'hf-embed', input: ['first text', 'second text'], encoding_format: 'float' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-provider')).toBe('hf');
    const list = (await res.json()) as EmbeddingList;
    expect(list.object).toBe('list');
    expect(list.data).toHaveLength(2);
    const [seen] = await upstreamSaw(res.headers.get('x-request-id')!);
    expect(seen!.path).toBe('/hf/models/BAAI/bge-small-en-v1.5/pipeline/feature-extraction');
    expect(seen!.body).toEqual({ inputs: ['first text', 'second text'] });
    expect(seen!.headers.authorization).toBe(`Bearer ${PROVIDER_SECRETS.HF_TOKEN}`);

    const viaClient = await client().embeddings.create({ model: 'hf-embed', input: ['first text', 'second text'] });
    const fromBase64 = viaClient.data.map((d) => d.embedding);
    const asFloat32 = list.data.map((d) => (d.embedding as number[]).map(Math.fround));
    expect(fromBase64).toEqual(asFloat32);
  });

  it('encodes base64 as little-endian float32, as OpenAI does', async () => {
    const res = await postJson('/v1/embeddings', { model: 'hf-embed', input: 'x', encoding_format: 'base64' });
    const list = (await res.json()) as EmbeddingList;
    expect(typeof list.data[0]!.embedding).toBe('string');
    expect(decodeBase64Floats(list.data[0]!.embedding as string)).toHaveLength(4);
  });

  it('refuses token-array input for Hugging Face with a clear 400', async () => {
    const res = await postJson('/v1/embeddings', { model: 'hf-embed', input: [1, 2, 3] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('input');
  });
});
