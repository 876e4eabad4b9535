import OpenAI from 'openai';
import { describe, expect, inject, it } from 'vitest';
import { CREDENTIAL_SHAPES } from '../src/core/credential-shapes';
import { BASE, inWorker, logRow, testEnv, upstreamSaw, type CallRow } from './support/gateway';
import { testGatewayConfig } from './support/test-config';

/**
 * One catalog of credential shapes (src/core/credential-shapes.ts) serves payload-log
 * redaction and the `secrets` guardrail. For every sample of every shape in it, a
 * prompt quoting the sample goes through the gateway with the real openai client,
 * its answer streamed back (the fixture echoes it a word a chunk): the guardrail, in
 * flag mode, finds the shape's kind in the prompt and in the stream, the upstream
 * and the client see the text as it was, and the stored payload log has the sample
 * redacted. A shape added to the catalog needs samples here (the first test).
 */

const KEY = 'sk-gw-catalog-0123456789';
const config = () => {
  const base = testGatewayConfig(inject('upstreamPort'));
  return {
    ...base,
    keys: { ...base.keys, catalog: { secrets: ['KEY_CATALOG'], log_payloads: true, guardrails: ['secrets'] } },
    guardrails: { secrets: { kind: 'secrets', mode: 'flag' } },
  };
};
const envPatch = { GATEWAY_CONFIG: config(), KEY_CATALOG: KEY };

/** Shape name → samples, each as a prompt or an answer may quote it. */
const SAMPLES: Record<string, string[]> = {
  pem_private_key: [
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----',
    '-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF0eRxMBCADJ3xh7\n-----END PGP PRIVATE KEY BLOCK-----',
  ],
  authorization: ['Bearer eyAbc.DEF-ghi_0123456789~+/x=', 'Basic YWxhZGRpbjpvcGVuc2VzYW1lMTIz'],
  sk_style_key: ['sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123', 'rk-live-0123456789abcdefghij'],
  google_api_key: ['AIzaSyB-0123456789abcdefghijklmnopqrstu'],
  hugging_face_token: ['hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345'],
  groq_key: ['gsk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'],
  xai_key: ['xai-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'],
  replicate_token: ['r8_AbCdEfGhIjKlMnOpQrStUvWxYz01234'],
  perplexity_key: ['pplx-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'],
  aws_access_key_id: ['AKIAIOSFODNN7EXAMPLE', 'ASIAY34FZKBOKMUTVV7A'],
  github_token: ['ghs_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'],
  github_fine_grained_token: ['github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGH'],
  slack_token: ['xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'],
  jwt: ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'],
};

interface StoredAnswer {
  choices: { message: { content: string } }[];
}

/** One streamed call of the catalog key: what the client read, and the call's id once its background work is done. */
async function streamedCall(prompt: string): Promise<{ text: string; requestId: string }> {
  return inWorker(envPatch, async (fetch) => {
    const client = new OpenAI({ apiKey: KEY, baseURL: `${BASE}/v1`, maxRetries: 0, fetch: (input, init) => fetch(new Request(input as RequestInfo, init as RequestInit)) });
    const { data, response } = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: prompt }], stream: true }).withResponse();
    let text = '';
    for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? '';
    return { text, requestId: response.headers.get('x-request-id')! };
  });
}

describe('one catalog of credential shapes', () => {
  it('has samples here for every shape in it', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(CREDENTIAL_SHAPES.map((shape) => shape.name).sort());
  });

  const cases = CREDENTIAL_SHAPES.flatMap((shape) => (SAMPLES[shape.name] ?? []).map((sample, i) => [shape.name, i + 1, shape.kind.toUpperCase(), sample] as const));
  it.each(cases)('%s, sample %i: redacted in the payload log, found as %s by the guardrail in the prompt and in the streamed answer', async (...[, , type, sample]) => {
    const quote = (text: string) => `quoted ${id}: ${text} (end)`;
    const id = crypto.randomUUID();
    const prompt = quote(sample);
    const { text, requestId } = await streamedCall(prompt);

    // Flag mode: the guardrail only reports; the upstream and the client see the text as it was.
    expect((await upstreamSaw(requestId))[0]!.body.messages).toEqual([{ role: 'user', content: prompt }]);
    expect(text).toBe(`echo: ${prompt}`);
    const row = (await logRow(requestId)) as CallRow & { guardrails: string };
    expect(JSON.parse(row.guardrails)).toEqual([
      { name: 'secrets', kind: 'secrets', stage: 'input', mode: 'flag', action: 'flagged', found: [type] },
      { name: 'secrets', kind: 'secrets', stage: 'output', mode: 'flag', action: 'flagged', found: [type] },
    ]);

    const stored = await testEnv.PAYLOADS!.get(`${row.ts.slice(0, 10)}/${requestId}.json`);
    const doc = JSON.parse(await stored!.text()) as { request: { messages: { content: string }[] }; response: StoredAnswer };
    const redacted = quote('[redacted]');
    expect(doc.request.messages).toEqual([{ role: 'user', content: redacted }]);
    expect(doc.response.choices[0]!.message.content).toBe(`echo: ${redacted}`);
  });
});
