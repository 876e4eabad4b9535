import { z } from 'zod';
import { GatewayError } from '../../errors';

/**
 * Claude's signed thinking, carried through OpenAI clients. While thinking, Claude
 * refuses the next request of a tool-use loop unless the assistant turn that called
 * the tools starts with its `thinking` (and `redacted_thinking`) blocks, unmodified,
 * signatures and all (API reference "Extended thinking": preserving thinking blocks).
 * OpenAI's message has no field for them that clients send back, but every client
 * echoes a tool call's id verbatim, streamed or not: so the blocks ride on the first
 * tool call's id, `toolu_…~think~<base64url JSON>`, and are put back in front of the
 * turn when the id comes back. Anthropic never sees the suffix.
 */

export const ThinkingBlock = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('thinking'), thinking: z.string(), signature: z.string().min(1) }),
  z.strictObject({ type: z.literal('redacted_thinking'), data: z.string().min(1) }),
]);
export type ThinkingBlock = z.infer<typeof ThinkingBlock>;
const ThinkingBlocks = z.array(ThinkingBlock).min(1);

const MARK = '~think~';

export function withThinking(id: string, blocks: readonly ThinkingBlock[]): string {
  return blocks.length === 0 ? id : `${id}${MARK}${toBase64Url(JSON.stringify(blocks))}`;
}

/** The id Anthropic gave the tool call (what `tool_use_id` must name). */
export function toolUseId(id: string): string {
  const at = id.indexOf(MARK);
  return at < 0 ? id : id.slice(0, at);
}

/** The thinking blocks an id carries; a damaged record is the caller's 400 (`param` names the id). */
export function thinkingOf(id: string, param: string): ThinkingBlock[] {
  const at = id.indexOf(MARK);
  if (at < 0) return [];
  let blocks: unknown;
  try {
    blocks = JSON.parse(fromBase64Url(id.slice(at + MARK.length)));
  } catch {
    blocks = undefined;
  }
  const parsed = ThinkingBlocks.safeParse(blocks);
  if (parsed.success) return parsed.data;
  throw new GatewayError('invalid_request', 'Anthropic models cannot take this request: the tool call id carries a damaged thinking record; send ids back exactly as the gateway gave them', {
    param,
  });
}

function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}
