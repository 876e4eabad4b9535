/**
 * Header hygiene for passthrough calls. Upstream, the caller's headers go on (a
 * native SDK's `anthropic-version`, `openai-beta`, `content-type`) except what must
 * not: any credential (the provider's own is set from its Worker secret), hop-by-hop
 * headers (RFC 9110 §7.6.1, and any the caller's `Connection` names), what the
 * runtime sets itself, the client's network identity, and the gateway's own control
 * headers. Back to the caller, the provider's headers go on (content-type,
 * retry-after, its rate-limit and request-id headers) except cookies, hop-by-hop
 * headers, and headers about the provider's host or its encoding of the body.
 */

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

const NOT_UPSTREAM = new Set([
  ...HOP_BY_HOP,
  // Credentials: the caller's gateway key, in every header a client or SDK sends one in.
  'authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'cookie',
  // The runtime's: the upstream's host, the body's length and encoding (fetch negotiates its own).
  'host', 'content-length', 'accept-encoding', 'expect',
  // Who the client is: not the provider's business.
  'forwarded', 'x-real-ip', 'true-client-ip',
  // The gateway's request id replaces the caller's (the provider logs ours).
  'x-request-id',
]);
const NOT_UPSTREAM_PREFIXES = ['cf-', 'x-forwarded-', 'x-gateway-'];

const NOT_DOWNSTREAM = new Set([
  ...HOP_BY_HOP,
  'set-cookie', 'set-cookie2',
  // The body relayed is the decoded one, streamed: its length and encoding are the runtime's to set.
  'content-encoding', 'content-length',
  // About the provider's host, not the gateway's; CORS is the gateway's policy, not the provider's.
  'alt-svc', 'strict-transport-security', 'public-key-pins',
]);
const NOT_DOWNSTREAM_PREFIXES = ['cf-', 'access-control-'];

function named(value: string | null): Set<string> {
  return new Set((value ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean));
}

function dropped(name: string, exact: Set<string>, prefixes: string[], listed: Set<string>): boolean {
  return exact.has(name) || listed.has(name) || prefixes.some((prefix) => name.startsWith(prefix));
}

/**
 * The request headers sent upstream: the caller's, filtered; then the provider's
 * defaults where the caller sent none; then what the provider sets (its credential)
 * and the gateway's request id, over anything of the same name.
 */
export function upstreamHeaders(
  incoming: Headers,
  set: Record<string, string>,
  defaults: Record<string, string> | undefined,
  requestId: string,
): Headers {
  const listed = named(incoming.get('connection'));
  const out = new Headers();
  for (const [name, value] of incoming) {
    if (!dropped(name, NOT_UPSTREAM, NOT_UPSTREAM_PREFIXES, listed)) out.set(name, value);
  }
  for (const [name, value] of Object.entries(defaults ?? {})) if (!out.has(name)) out.set(name, value);
  for (const [name, value] of Object.entries(set)) out.set(name, value);
  out.set('x-request-id', requestId);
  return out;
}

/**
 * The response headers sent back: the provider's, filtered, its request id kept as
 * `x-upstream-request-id` (the gateway's own `x-request-id` takes its place), then
 * the gateway's. A key with limits sees its own `x-ratelimit-*` only: the provider's
 * describe the operator's whole account, and a mix of both would mislead.
 */
export function downstreamHeaders(upstream: Headers, ours: Record<string, string> = {}): Headers {
  const listed = named(upstream.get('connection'));
  const ownLimits = Object.keys(ours).some((name) => name.startsWith('x-ratelimit-'));
  const out = new Headers();
  for (const [name, value] of upstream) {
    if (name === 'x-request-id') out.set('x-upstream-request-id', value);
    else if (ownLimits && name.startsWith('x-ratelimit-')) continue;
    else if (!dropped(name, NOT_DOWNSTREAM, NOT_DOWNSTREAM_PREFIXES, listed)) out.append(name, value);
  }
  for (const [name, value] of Object.entries(ours)) out.set(name, value);
  return out;
}
