import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load';
import { PROVIDER_SECRETS } from './support/constants';
import { postJson, postWithEnv, testEnv, upstreamSaw } from './support/gateway';

/**
 * Issue 9, items 2 and 4. A caller's model id never steers the upstream URL out of
 * the provider's base (the operator's credential goes with every request), and a
 * base URL pointing into the Worker's own network (metadata, loopback, private
 * ranges, in any spelling) fails the config check unless the provider allows it.
 */

type ErrorBody = { error: { message: string; type: string; param: string | null; code: string | null } };

describe('a model id cannot steer the upstream URL', () => {
  // The team-a key allows `*`, so `hf/<anything>` reaches the Hugging Face provider.
  const INJECTIONS: [string, string][] = [
    ['dot segments, a query and a fragment (the audit\'s call)', 'hf/../../../internal/admin?steal=1#'],
    ['percent-encoded dot segments', 'hf/%2e%2e/%2E%2E/internal/admin'],
    ['a percent-encoded slash', 'hf/BAAI%2fbge-small-en-v1.5'],
    ['backslashes (a slash to the URL parser)', 'hf/..\\..\\internal\\admin'],
    ['a "." segment', 'hf/BAAI/./bge-small-en-v1.5'],
    ['an empty segment', 'hf/BAAI//bge-small-en-v1.5'],
    ['a trailing slash', 'hf/BAAI/bge-small-en-v1.5/'],
    ['a control character', 'hf/BAAI/bge\u0000small'],
    ['a newline', 'hf/BAAI/bge\nsmall'],
    ['a lone surrogate', 'hf/BAAI/bge\ud800'],
    ['a query alone', 'hf/BAAI/bge-small-en-v1.5?wait_for_model=true'],
  ];

  it.each(INJECTIONS)('refuses %s with a 400 on `model` and calls no upstream', async (_name, model) => {
    const res = await postJson('/v1/embeddings', { model, input: 'x' });
    const body = (await res.json()) as ErrorBody;
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request', param: 'model' });
    expect(await upstreamSaw(res.headers.get('x-request-id')!)).toEqual([]);
  });

  it('keeps Hugging Face ids with slashes working, each segment percent-encoded', async () => {
    const plain = await postJson('/v1/embeddings', { model: 'hf/BAAI/bge-small-en-v1.5', input: 'hello', encoding_format: 'float' });
    expect(plain.status).toBe(200);
    const [seen] = await upstreamSaw(plain.headers.get('x-request-id')!);
    expect(seen!.path).toBe('/hf/models/BAAI/bge-small-en-v1.5/pipeline/feature-extraction');
    expect(seen!.headers.authorization).toBe(`Bearer ${PROVIDER_SECRETS.HF_TOKEN}`);

    // Characters the URL parser would leave raw in a path (`:`, `@`, `;`, space) are encoded inside their segment.
    const odd = await postJson('/v1/embeddings', { model: 'hf/org name/model:v1@rev;x', input: 'hello', encoding_format: 'float' });
    expect(odd.status).toBe(200);
    const [oddSeen] = await upstreamSaw(odd.headers.get('x-request-id')!);
    expect(oddSeen!.path).toBe('/hf/models/org%20name/model%3Av1%40rev%3Bx/pipeline/feature-extraction');
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Config = Record<string, any>;

function withProvider(provider: Record<string, unknown>): Config {
  return { providers: { p: provider }, keys: { k: { secrets: ['K'] } } };
}

const DANGEROUS: [string, string][] = [
  ['AWS/GCP/Azure metadata', 'http://169.254.169.254/latest'],
  ['AWS IPv6 metadata', 'http://[fd00:ec2::254]/v1'],
  ['GCP metadata by name', 'http://metadata.google.internal/computeMetadata/v1'],
  ['metadata, single label', 'http://metadata/v1'],
  ['Alibaba metadata', 'http://100.100.100.200/v1'],
  ['IPv6 link-local', 'http://[fe80::1]/v1'],
  ['10/8', 'http://10.0.0.5/v1'],
  ['172.16/12', 'http://172.20.3.4:8000/v1'],
  ['192.168/16', 'http://192.168.1.10/v1'],
  ['fc00::/7', 'http://[fc00::1]/v1'],
  ['CGNAT 100.64/10', 'http://100.64.0.1/v1'],
  ['127/8', 'http://127.0.0.1:8000/v1'],
  ['127/8, not only .1', 'http://127.8.9.10/v1'],
  ['IPv6 loopback', 'http://[::1]:8000/v1'],
  ['localhost', 'http://localhost:8000/v1'],
  ['a *.localhost name', 'http://vllm.localhost/v1'],
  ['0.0.0.0', 'http://0.0.0.0:8000/v1'],
  ['hex IPv4', 'http://0x7f000001/v1'],
  ['decimal IPv4', 'http://2130706433/v1'],
  ['octal IPv4', 'http://0177.0.0.1/v1'],
  ['short IPv4', 'http://127.1/v1'],
  ['hex metadata', 'http://0xa9fea9fe/latest'],
  ['IPv4-mapped IPv6, dotted', 'http://[::ffff:127.0.0.1]/v1'],
  ['IPv4-mapped IPv6, hex', 'http://[::ffff:7f00:1]/v1'],
  ['IPv4-mapped metadata', 'http://[::ffff:169.254.169.254]/v1'],
];

const USERINFO: [string, string][] = [
  ['user:pass@host', 'https://user:pass@api.example.com/v1'],
  ['a host that is userinfo', 'https://api.openai.com@evil.example/v1'],
];

describe('config check of base URLs', () => {
  it.each(DANGEROUS)('refuses %s as base_url unless allow_private_network', (_name, url) => {
    const refused = parseConfig(withProvider({ kind: 'openai-compatible', base_url: url }));
    expect(refused).toMatchObject({ ok: false, field: 'GATEWAY_CONFIG.providers.p.base_url' });
    if (!refused.ok) expect(refused.error).toContain('allow_private_network');

    const allowed = parseConfig(withProvider({ kind: 'openai-compatible', base_url: url, allow_private_network: true }));
    expect(allowed.ok, allowed.ok ? '' : allowed.error).toBe(true);
  });

  it.each(DANGEROUS)('refuses %s as feature_extraction_url unless allow_private_network', (_name, url) => {
    const hf = { kind: 'huggingface', feature_extraction_url: url };
    expect(parseConfig(withProvider(hf))).toMatchObject({ ok: false, field: 'GATEWAY_CONFIG.providers.p.feature_extraction_url' });
    expect(parseConfig(withProvider({ ...hf, allow_private_network: true })).ok).toBe(true);
  });

  it.each(USERINFO)('always refuses userinfo (%s), even with allow_private_network', (_name, url) => {
    for (const allow of [false, true]) {
      const result = parseConfig(withProvider({ kind: 'openai', base_url: url, allow_private_network: allow }));
      expect(result).toMatchObject({ ok: false, field: 'GATEWAY_CONFIG.providers.p.base_url' });
      if (!result.ok) expect(result.error).toContain('user info');
    }
  });

  it('refuses a query or fragment (paths are appended to the base) and accepts public hosts without the flag', () => {
    for (const url of ['https://api.example.com/v1?api-version=1', 'https://api.example.com/v1#x']) {
      expect(parseConfig(withProvider({ kind: 'openai-compatible', base_url: url, allow_private_network: true }))).toMatchObject({
        ok: false,
        field: 'GATEWAY_CONFIG.providers.p.base_url',
      });
    }
    for (const url of ['https://api.openai.com/v1', 'https://router.huggingface.co/v1', 'https://8.8.8.8/v1', 'https://[2606:4700::1111]/v1', 'https://172.32.0.1/v1']) {
      const result = parseConfig(withProvider({ kind: 'openai-compatible', base_url: url }));
      expect(result.ok, `${url}: ${result.ok ? '' : result.error}`).toBe(true);
    }
  });

  it('a Worker with a metadata base_url answers 500 naming the field and calls nothing', async () => {
    const config = structuredClone(testEnv.GATEWAY_CONFIG) as Config;
    delete config.providers.openai.allow_private_network;
    config.providers.openai.base_url = 'http://169.254.169.254/latest';
    const { res, text } = await postWithEnv('/v1/chat/completions', { model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }, { GATEWAY_CONFIG: config });
    expect(res.status).toBe(500);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'config_invalid', param: 'GATEWAY_CONFIG.providers.openai.base_url' } });
    expect(await upstreamSaw(res.headers.get('x-request-id')!)).toEqual([]);
  });
});
