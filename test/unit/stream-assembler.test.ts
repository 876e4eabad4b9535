import { describe, expect, it } from 'vitest';
import { StreamAssembler } from '../../src/cache/assemble';
import { answerChunks } from '../../src/streaming/answer-stream';

/** What the cache stores for a streamed miss: the answer the same request would have had without `stream`. */

const answer = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'm',
  system_fingerprint: 'fp_1',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '{"city":"Zürich","days":[1,2,3],"note":"a longer argument"}' } },
          { id: 'call_b', type: 'function', function: { name: 'other', arguments: '{}' } },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    },
    { index: 1, message: { role: 'assistant', content: 'Two words, then more.', refusal: null }, logprobs: null, finish_reason: 'stop' },
  ],
  usage: { prompt_tokens: 9, completion_tokens: 20, total_tokens: 29 },
};

function assemble(chunks: string[], endpoint: 'chat.completions' | 'completions' = 'chat.completions') {
  const assembler = new StreamAssembler(endpoint);
  for (const chunk of chunks) assembler.push(chunk);
  return assembler.result();
}

describe('StreamAssembler', () => {
  it('rebuilds exactly the answer a stream was made from: content, tool calls by index, finish reasons, usage', () => {
    const chunks = answerChunks('chat.completions', answer, true).map((c) => JSON.stringify(c));
    expect(assemble(chunks)).toEqual(answer);
  });

  it('rebuilds legacy completions', () => {
    const completion = {
      id: 'cmpl-1', object: 'text_completion', created: 1, model: 'm',
      choices: [{ text: 'Once upon a time', index: 0, logprobs: null, finish_reason: 'length' }],
      usage: { prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 },
    };
    const chunks = answerChunks('completions', completion, true).map((c) => JSON.stringify(c));
    expect(assemble(chunks, 'completions')).toEqual(completion);
  });

  it('has no answer until every choice has finished (a cut stream is never cached)', () => {
    const chunks = answerChunks('chat.completions', answer, true).map((c) => JSON.stringify(c));
    const lastFinish = chunks.findLastIndex((c) => c.includes('"finish_reason":"stop"'));
    expect(assemble(chunks.slice(0, lastFinish))).toBeUndefined();
    expect(assemble([])).toBeUndefined();
  });

  it('skips chunks that are not JSON instead of failing the call', () => {
    const chunks = answerChunks('chat.completions', answer, true).map((c) => JSON.stringify(c));
    expect(assemble(['not json', ...chunks])).toEqual(answer);
  });
});
