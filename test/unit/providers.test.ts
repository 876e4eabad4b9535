import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors';
import { demo } from '../../src/providers/demo';
import { huggingface } from '../../src/providers/huggingface';
import { openai, openaiCompatible } from '../../src/providers/openai';
import { ProviderConfigSchema, providerFor } from '../../src/providers/registry';
import { CREDENTIAL, upstreamCall } from './upstream-call';

/** What each provider sends (buildRequest) and makes of an answer (parseResponse), with no network. */

describe('the registry', () => {
  it('parses each kind with its own schema, chosen by kind', () => {
    expect(ProviderConfigSchema.parse({ kind: 'demo' })).toMatchObject({ kind: 'demo', rate_limit_scope: 'model', timeouts: {} });
    expect(ProviderConfigSchema.safeParse({ kind: 'demo', base_url: 'https://x.example/v1' }).success).toBe(false);
    expect(ProviderConfigSchema.safeParse({ kind: 'openai', feature_extraction_url: 'https://x.example' }).success).toBe(false);
    expect(ProviderConfigSchema.safeParse({ kind: 'mystery' }).success).toBe(false);
    for (const kind of ['openai', 'openai-compatible', 'huggingface', 'demo']) expect(providerFor(kind).kind).toBe(kind);
  });
});

describe('OpenAI-format requests', () => {
  it('forward the body with only model replaced, and ask a stream for usage', () => {
    const call = upstreamCall(openai, { headers: { 'OpenAI-Organization': 'org-1' } }, { stream: true, body: { messages: [], top_k: 3, stream: true } });
    const request = openai.buildRequest(call);
    expect(request.url).toBe('https://api.openai.com/v1/chat/completions');
    expect(request.method).toBe('POST');
    expect(request.headers).toMatchObject({ authorization: `Bearer ${CREDENTIAL}`, 'OpenAI-Organization': 'org-1', accept: 'text/event-stream', 'x-request-id': 'req-1' });
    expect(JSON.parse(request.body)).toEqual({ model: 'm-1', messages: [], top_k: 3, stream: true, stream_options: { include_usage: true } });
    expect(call.body.model).toBe('alias');
  });

  it("go to the configured base, and leave stream_options alone when stream_usage is off", () => {
    const call = upstreamCall(openaiCompatible, { base_url: 'https://llm.example/v1/', stream_usage: false }, { operation: 'completions', stream: true });
    const request = openaiCompatible.buildRequest(call);
    expect(request.url).toBe('https://llm.example/v1/completions');
    expect(JSON.parse(request.body).stream_options).toBeUndefined();
  });

  it('refuse a 200 that is not an answer, retryably', () => {
    const call = upstreamCall(openai, {});
    const answer = { choices: [] };
    expect(openai.parseResponse(call, answer)).toBe(answer);
    for (const body of [{ error: { message: 'x' } }, {}, [], 'text']) {
      expect(() => openai.parseResponse(call, body)).toThrow(GatewayError);
    }
    expect(() => openai.parseResponse(upstreamCall(openai, {}, { operation: 'embeddings' }), { choices: [] })).toThrow(/`data`/);
  });
});

describe('Hugging Face', () => {
  it('sends embeddings to feature extraction under the encoded model id, and wraps the vectors', () => {
    const call = upstreamCall(huggingface, {}, { operation: 'embeddings', model: 'BAAI/bge small', body: { input: ['a', 'b'] } });
    const request = huggingface.buildRequest(call);
    expect(request.url).toBe('https://router.huggingface.co/hf-inference/models/BAAI/bge%20small/pipeline/feature-extraction');
    expect(JSON.parse(request.body)).toEqual({ inputs: ['a', 'b'] });
    const list = huggingface.parseResponse(call, [[1, 2], [[3, 4], [5, 6]]]);
    expect(list).toMatchObject({ object: 'list', data: [{ index: 0, embedding: [1, 2] }, { index: 1, embedding: [4, 5] }] });
    expect(() => huggingface.parseResponse(call, { error: 'loading' })).toThrow(GatewayError);
  });

  it('refuses token input and model ids that would leave the base', () => {
    expect(() => huggingface.buildRequest(upstreamCall(huggingface, {}, { operation: 'embeddings', body: { input: [[1, 2]] } }))).toThrow(/text input/);
    expect(() => huggingface.buildRequest(upstreamCall(huggingface, {}, { operation: 'embeddings', model: '../admin', body: { input: 'x' } }))).toThrow(GatewayError);
  });

  it('sends chat to the router in OpenAI format, and has no legacy completions', () => {
    expect(huggingface.buildRequest(upstreamCall(huggingface, {})).url).toBe('https://router.huggingface.co/v1/chat/completions');
    expect(huggingface.supports('completions')).toBe(false);
  });
});

describe('demo', () => {
  it('answers the request an OpenAI provider would make, in process', async () => {
    const call = upstreamCall(demo, {}, { body: { messages: [{ role: 'user', content: 'ping' }] } });
    const response = await demo.send!(demo.buildRequest(call), call, {});
    const answer = demo.parseResponse(call, await response.json());
    expect(answer).toMatchObject({ model: 'm-1', choices: [{ message: { content: 'Demo model (offline, deterministic) heard: ping' } }] });
  });
});
