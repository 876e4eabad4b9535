import { GatewayError } from '../errors';

/**
 * The upstream URL of a passthrough call: the provider's root (the operator's,
 * checked at config time by src/config/base-url.ts) + the caller's path + its query.
 * The path is the caller's, so it may not say anything a server could read as "go
 * elsewhere". It arrives already parsed by the URL parser (`..` and `%2e%2e`
 * segments resolved, `\` turned into `/`); these checks hold for any path all the
 * same, and the finished URL is parsed again and must be exactly root + path:
 *
 * - no `.` / `..` segment and no empty one (`//`, which some servers and proxies
 *   collapse or read as the start of an authority);
 * - no backslash, and no percent-escape of a dot, slash, backslash or percent
 *   (`%2e`, `%2f`, `%5c`, and `%25` for a second round of decoding) or of a control
 *   character: a server that decodes before it routes would see `..` or `/` there.
 *
 * Other escapes (`%20`, `%3A`) are forwarded as sent.
 */

// Escapes of `.`, `/`, `\`, `%`, and of C0 controls and DEL.
const RISKY_ESCAPE = /%(?:2e|2f|5c|25|[01][0-9a-f]|7f)/i;

function refused(why: string): GatewayError {
  return new GatewayError('invalid_request', `This path cannot be forwarded to the provider: ${why}`);
}

/** Refuses a path that could leave the root (400), or that names nothing under it (404). */
export function checkPath(path: string): void {
  if (path === '' || path === '/') throw new GatewayError('unknown_url', 'A passthrough call names a path of the provider\'s API after its name: /{provider}/v1/…');
  if (!path.startsWith('/')) throw refused('it must start with "/"');
  if (path.includes('\\')) throw refused('it contains a backslash');
  if (RISKY_ESCAPE.test(path)) throw refused('it contains an encoded ".", "/", "\\", "%" or control character');
  const segments = path.slice(1).split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    // A trailing slash is an empty last segment, and harmless.
    if ((segment === '' && i < segments.length - 1) || segment === '.' || segment === '..') {
      throw refused('it has an empty, "." or ".." segment');
    }
  }
}

/**
 * The query string to forward (with its `?`, or ''), minus any parameter that carries
 * the caller's own key (`?key=` is how Google's REST API takes one): the caller's key
 * never leaves the gateway. Everything else goes as sent, byte for byte.
 */
export function forwardedQuery(search: string, callerKey: string | undefined): string {
  if (search.length <= 1) return '';
  if (!callerKey) return search;
  const kept = search
    .slice(1)
    .split('&')
    .filter((pair) => !decodeQuery(pair).includes(callerKey));
  return kept.length > 0 ? `?${kept.join('&')}` : '';
}

function decodeQuery(pair: string): string {
  try {
    return decodeURIComponent(pair.replaceAll('+', ' '));
  } catch {
    return pair;
  }
}

/** root + path + query, proven to be exactly that once parsed (same origin, path unchanged). */
export function upstreamUrl(root: string, path: string, query: string): string {
  checkPath(path);
  const url = root + path + query;
  let base: URL;
  let final: URL;
  try {
    base = new URL(root);
    final = new URL(url);
  } catch {
    throw refused('it does not make a valid URL');
  }
  const expected = base.pathname.replace(/\/$/, '') + path;
  if (final.origin !== base.origin || final.pathname !== expected || final.username || final.password) {
    throw refused("it would leave the provider's API root");
  }
  return url;
}
