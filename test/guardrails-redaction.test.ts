import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayConfigSchema } from '../src/config/schema';
import { guardPlan, type OutputPlan } from '../src/guardrails/plan';
import { ScanSession, scanWhole } from '../src/guardrails/scanner';
import { streamGuard } from '../src/guardrails/stream';
import { newCallRecord } from '../src/logging/call-record';
import { DONE } from '../src/streaming/translator';

/**
 * Property tests of redaction: however a text is cut into pieces (a stream's
 * chunks), the scanner and the stream transform give exactly what the whole text
 * gives, and leave no match behind.
 */

const config = GatewayConfigSchema.parse({
  providers: { demo: { kind: 'demo' } },
  keys: { k: { secrets: ['K'] } },
  guardrails: {
    pii: { kind: 'pii', mode: 'redact' },
    secrets: { kind: 'secrets', mode: 'redact' },
    words: { kind: 'patterns', mode: 'redact', deny: ['classified', { regex: 'project\\s+[a-z]{3,12}' }, { regex: 'x{2}-\\d{3}' }], allow: ['declassified'] },
  },
  guardrails_default: ['pii', 'secrets', 'words'],
});
const plan = guardPlan(config, 'k', 'demo/x')!.output!;
const scan = plan.scan!;

const SECRETS = [
  'bob.smith@example.com', 'a@b.io', 'x_y+z@mail.example.co.uk',
  '4111 1111 1111 1111', '5500-0000-0000-0004', '378282246310005',
  '+1 415 555 2671', '(415) 555-2671', '+44 20 7946 0958',
  'GB82 WEST 1234 5698 7654 32', 'DE89370400440532013000',
  '192.168.1.20', '2001:db8::8a2e:370:7334', 'fe80::1ff:fe23:4567:890a',
  'sk-proj-abcdefghijklmnopqrstuvwxyz012345', 'sk-ant-api03-ABCDEFGHIJKLMNOPQRSTUV', 'AIzaSyA1234567890abcdefghijklmnopqrstuv',
  'hf_abcdefghijklmnopqrstuvwxyzABCDEFGH', 'AKIAIOSFODNN7EXAMPLE', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  'Bearer abcDEF123456ghiJKL789', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nq1w2e3r4\n-----END RSA PRIVATE KEY-----',
  '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg', // cut off: redacted to the end of the text
  'classified', 'project falcon', 'xx-123', 'declassified',
];
const FILLER = ['the', 'a', 'report', 'is', 'due', '42', '2024-01-15', '12:30:45', 'v1.2.3', 'ok.', 'Hello,', 'é', '中文', '😀', 'call', 'me', 'at', '#', '-', '@', ':'];
const SEPARATORS = [' ', ' ', ' ', '\n', ', ', '. ', '', '\t'];

const textOf = (separators: string[]) =>
  fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...SECRETS), fc.constantFrom(...FILLER)), fc.constantFrom(...separators)), { minLength: 1, maxLength: 24 })
    .map((parts) => parts.map(([word, sep]) => word + sep).join(''));
/** Text with secrets among filler, joined by separators, sometimes none: neighbours touch. */
const texts = textOf(SEPARATORS);
/**
 * The same with a separator always. A secret glued to a word is not detected (its
 * boundary is missing) and a neighbour's redaction can leave it standing alone, so
 * "no match left" is a property of delimited text (README, "Guardrails": limits).
 */
const delimited = textOf(SEPARATORS.filter(Boolean));

/** Cut points: pieces of 1 to 12 characters, or a few large ones. */
function cuts(text: string, sizes: number[]): string[] {
  const pieces: string[] = [];
  let at = 0;
  for (let i = 0; at < text.length; i++) {
    const size = sizes[i % sizes.length]!;
    pieces.push(text.slice(at, at + size));
    at += size;
  }
  return pieces;
}
const sizes = fc.array(fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 13, max: 400 })), { minLength: 1, maxLength: 20 });

function session(): ScanSession {
  return new ScanSession(scan.guardrails, scan.detectors);
}

/** Every redact-mode match a fresh scan finds in the text (none should remain after redaction). */
function matchesLeft(text: string): string[] {
  const fresh = session();
  scanWhole(fresh, text);
  return [...fresh.fired.values()].flatMap((types) => [...types]);
}

function streamed(plan: OutputPlan, pieces: string[]): string {
  const guard = streamGuard(plan, 'chat.completions', newCallRecord('req_prop', 'chat.completions'));
  const chunk = (delta: object, finish: string | null = null) =>
    JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  const out: string[] = [];
  for (const data of [chunk({ role: 'assistant', content: '' }), ...pieces.map((p) => chunk({ content: p })), chunk({}, 'stop'), DONE]) {
    const result = guard.push(data);
    if (!Array.isArray(result)) throw new Error('blocked');
    out.push(...(result as string[]));
  }
  expect(out.at(-1)).toBe(DONE);
  return out
    .slice(0, -1)
    .map((c) => (JSON.parse(c) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '')
    .join('');
}

describe('redaction however the text is cut', () => {
  it('leaves no match behind', () => {
    fc.assert(
      fc.property(delimited, (text) => {
        expect(matchesLeft(scanWhole(session(), text))).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  it('the scanner gives the whole-text result for any chunking', () => {
    fc.assert(
      fc.property(texts, sizes, (text, sizeList) => {
        const whole = scanWhole(session(), text);
        const channel = session().channel();
        const pieces = cuts(text, sizeList);
        const chunked = pieces.map((p) => channel.push(p)).join('') + channel.end();
        expect(chunked).toBe(whole);
      }),
      { numRuns: 400 },
    );
  });

  it('the stream transform gives the same text for any chunking, one character at a time included', () => {
    fc.assert(
      fc.property(texts, sizes, (text, sizeList) => {
        const whole = scanWhole(session(), text);
        expect(streamed(plan, cuts(text, sizeList))).toBe(whole);
        expect(streamed(plan, [...text])).toBe(whole);
      }),
      { numRuns: 200 },
    );
  });

  it('redacts each kind with its typed placeholder, and leaves look-alikes', () => {
    const cutOff = SECRETS.find((s) => s.startsWith('-----BEGIN') && !s.includes('END'))!;
    const text = `${SECRETS.filter((s) => s !== cutOff).join(' | ')} | 2024-01-15 12:30:45 v1.2.3 1.2.3.4.5 4111 1111 1111 1112 GB00 WEST 1234 5698 7654 32 | ${cutOff}\nand the rest`;
    expect(scanWhole(session(), text)).toBe(
      '[EMAIL] | [EMAIL] | [EMAIL] | [CREDIT_CARD] | [CREDIT_CARD] | [CREDIT_CARD] | [PHONE] | [PHONE] | [PHONE] | [IBAN] | [IBAN] | ' +
        '[IP_ADDRESS] | [IP_ADDRESS] | [IP_ADDRESS] | [API_KEY] | [API_KEY] | [API_KEY] | [API_KEY] | [API_KEY] | [API_KEY] | Bearer [BEARER_TOKEN] | [JWT] | ' +
        '[PRIVATE_KEY] | [REDACTED] | [REDACTED] | [REDACTED] | declassified | ' +
        '2024-01-15 12:30:45 v1.2.3 1.2.3.4.5 4111 1111 1111 1112 GB00 WEST 1234 5698 7654 32 | [PRIVATE_KEY]',
    );
  });

  it('holds back only the word being written when prose streams by', () => {
    const channel = session().channel();
    expect(channel.push('The meeting is on ')).toBe('The meeting is on ');
    expect(channel.push('Tuesday with bob')).toBe('Tuesday with ');
    expect(channel.push('@example.com, ok')).toBe('[EMAIL], ');
    expect(channel.push(' about project')).toBe('ok about ');
    expect(channel.push(' falcon. Done')).toBe('[REDACTED]. ');
    expect(channel.end()).toBe('Done');
  });
});
