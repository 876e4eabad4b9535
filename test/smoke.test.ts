import { describe, expect, it } from 'vitest';
import { client, gateway, logRow } from './support/gateway';

describe('smoke', () => {
  it('healthz answers', async () => {
    const res = await gateway('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('chat through the openai client', async () => {
    const { data, response } = await client().chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hello there' }] }).withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: hello there');
    const row = await logRow(response.headers.get('x-request-id')!);
    expect(row.status).toBe(200);
  });
});
