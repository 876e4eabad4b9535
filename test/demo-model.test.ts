import { describe, expect, it } from 'vitest';
import { client, logRow } from './support/gateway';

// The demo model is what a fresh `npm run dev` answers with: it must behave like a real one.
describe('the offline demo model', () => {
  const messages = [{ role: 'user' as const, content: 'Is this thing on?' }];

  it('answers deterministically, with usage', async () => {
    const a = await client().chat.completions.create({ model: 'demo', messages });
    const b = await client().chat.completions.create({ model: 'demo', messages });
    expect(a.choices[0]!.message.content).toBe('Demo model (offline, deterministic) heard: Is this thing on?');
    expect(b.choices[0]!.message.content).toBe(a.choices[0]!.message.content);
    expect(a.usage!.prompt_tokens).toBe(5);
    expect(a.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('streams in several chunks that reassemble to the same answer, and reports usage to the log', async () => {
    const whole = await client().chat.completions.create({ model: 'demo', messages });
    const { data: stream, response } = await client()
      .chat.completions.create({ model: 'demo', messages, stream: true })
      .withResponse();
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text).toBe(whole.choices[0]!.message.content);
    const row = await logRow(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ provider: 'demo', stream: 1, stream_cut: 0, prompt_tokens: 5 });
    expect(row.completion_tokens).toBe(whole.usage!.completion_tokens);
  });

  it('calls tools and embeds', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } }];
    const res = await client().chat.completions.create({ model: 'demo', messages, tools });
    const call = res.choices[0]!.message.tool_calls![0]!;
    expect(call.type === 'function' && call.function.name).toBe('lookup');

    const emb = await client().embeddings.create({ model: 'demo', input: ['a', 'b'] });
    expect(emb.data).toHaveLength(2);
    expect(emb.data[0]!.embedding).toHaveLength(8);
    const norm = Math.hypot(...emb.data[0]!.embedding);
    expect(norm).toBeCloseTo(1, 5);
  });
});
