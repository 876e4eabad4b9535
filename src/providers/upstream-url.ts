import { GatewayError } from '../errors';

/**
 * Upstream URLs. A base URL is the operator's (checked once, at config time:
 * src/config/base-url.ts); anything else in a URL may come from a caller, since a
 * key allowed `*` can ask for any `provider/<model id>`. Such an id goes into the
 * path segment by segment, percent-encoded, and the finished URL is parsed once more
 * to prove it is still under the base: `hf/../../internal/admin?x#` must never become
 * a request to `/internal/admin` with the operator's credential.
 */

/** `base` + a fixed path of ours (`/chat/completions`): no caller input, no checks needed. */
export function fixedUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

/**
 * `base/<id segments, encoded>/<suffix>`. Refuses (400, param `model`) ids that
 * could leave the base: `.` / `..` / empty segments, `?`, `#`, `%` (pre-encoded
 * `%2e%2e`, `%2f`), `\` (a `/` to the URL parser) and control characters. Ids with
 * `/` (Hugging Face's `BAAI/bge-small-en-v1.5`) keep them as segment separators.
 */
export function idUrl(base: string, id: string, suffix: string): string {
  const root = base.replace(/\/+$/, '');
  const url = `${root}/${encodeId(id)}${suffix}`;
  if (!stillUnder(root, url)) throw refused('it would leave the provider\'s base URL');
  return url;
}

function encodeId(id: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[?#%\\\u0000-\u001f\u007f-\u009f]/.test(id)) throw refused('it contains "?", "#", "%", "\\" or a control character');
  const segments = id.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) throw refused('it has an empty, "." or ".." path segment');
  try {
    return segments.map(encodeURIComponent).join('/');
  } catch {
    throw refused('it is not well-formed Unicode'); // a lone surrogate: encodeURIComponent throws URIError
  }
}

// Parsed bases, per isolate: as many as the config has base URLs.
const bases = new Map<string, { origin: string; prefix: string }>();

/** Same origin, under the base's path, no query or fragment of its own. */
function stillUnder(root: string, url: string): boolean {
  try {
    let base = bases.get(root);
    if (!base) {
      const parsed = new URL(root);
      base = { origin: parsed.origin, prefix: `${parsed.pathname.replace(/\/+$/, '')}/` };
      if (bases.size < 64) bases.set(root, base);
    }
    const final = new URL(url);
    return final.origin === base.origin && final.pathname.startsWith(base.prefix) && final.search === '' && final.hash === '';
  } catch {
    return false;
  }
}

function refused(why: string): GatewayError {
  return new GatewayError('invalid_request', `This model id cannot be sent to the provider: ${why}`, { param: 'model' });
}
