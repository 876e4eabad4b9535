/**
 * Config-time checks of a provider's `base_url` / `feature_extraction_url`: the
 * gateway sends the operator's credential and the callers' prompts there, so it must
 * not be a place inside the network the Worker runs in (cloud metadata services,
 * loopback, private ranges) unless the operator says so with `allow_private_network`.
 *
 * Hosts are classified on `new URL(raw).hostname`: the WHATWG URL parser already
 * turns every IPv4 spelling (`0x7f000001`, `2130706433`, `0177.0.0.1`, `127.1`) into
 * dotted decimal and every IPv6 one into its compressed hex form (`[::ffff:7f00:1]`),
 * so only those two forms need reading. Names are checked by name only: there is no
 * DNS here, so a public name that resolves to a private address is not caught.
 */

/** [first address, prefix length, what it is] */
type V4Range = [number, number, string];

// RFC 6890 special-purpose IPv4 blocks a provider never lives in.
const V4_RANGES: V4Range[] = [
  [v4(0, 0, 0, 0), 8, 'a "this network" address'],
  [v4(10, 0, 0, 0), 8, 'a private address'],
  [v4(100, 64, 0, 0), 10, 'a carrier-grade NAT address (cloud metadata lives here too)'],
  [v4(127, 0, 0, 0), 8, 'a loopback address'],
  [v4(169, 254, 0, 0), 16, 'a link-local address (cloud metadata)'],
  [v4(172, 16, 0, 0), 12, 'a private address'],
  [v4(192, 0, 0, 0), 24, 'an IETF protocol address'],
  [v4(192, 168, 0, 0), 16, 'a private address'],
  [v4(198, 18, 0, 0), 15, 'a benchmarking address'],
  [v4(224, 0, 0, 0), 3, 'a multicast or reserved address'],
];

/** Names that only resolve inside a private network or the machine itself. */
const PRIVATE_NAMES = new Set(['localhost', 'metadata', 'metadata.google.internal', 'instance-data']);
const PRIVATE_SUFFIXES = ['.localhost', '.local', '.internal', '.home.arpa', '.localdomain'];

function v4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function classifyV4(address: number): string | undefined {
  for (const [start, bits, what] of V4_RANGES) {
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if (((address & mask) >>> 0) === start) return what;
  }
  return undefined;
}

function parseV4(host: string): number | undefined {
  const parts = host.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  const [a, b, c, d] = parts.map(Number) as [number, number, number, number];
  return v4(a, b, c, d);
}

/** The eight 16-bit groups of a serialized IPv6 address (no brackets, no dotted tail). */
function parseV6(host: string): number[] | undefined {
  const [head, tail, extra] = host.split('::');
  if (extra !== undefined) return undefined;
  const groups = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(tail);
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  const all = [...left, ...new Array<number>(fill).fill(0), ...right];
  return all.length === 8 && all.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? all : undefined;
}

function classifyV6(g: number[]): string | undefined {
  const embedded = (hi: number, lo: number) => classifyV4(((hi << 16) | lo) >>> 0);
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeros(8)) return 'the unspecified address';
  // ::/96 (IPv4-compatible, ::1 included) and ::ffff:0:0/96 (IPv4-mapped) reach the IPv4 host.
  if (zeros(7) && g[7] === 1) return 'the loopback address';
  if (zeros(6) || (zeros(5) && g[5] === 0xffff)) return embedded(g[6]!, g[7]!) ?? 'an IPv4-in-IPv6 address';
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address too.
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return embedded(g[6]!, g[7]!);
  if (g[0] === 0x2002) return embedded(g[1]!, g[2]!);
  const first = g[0]!;
  if ((first & 0xffc0) === 0xfe80) return 'a link-local address';
  if ((first & 0xffc0) === 0xfec0) return 'a site-local address';
  if ((first & 0xfe00) === 0xfc00) return 'a unique local (private) address (cloud metadata lives here too)';
  if ((first & 0xff00) === 0xff00) return 'a multicast address';
  return undefined;
}

/** Why a URL's host is inside a private network, or undefined for a public host. */
export function privateHost(hostname: string): string | undefined {
  if (hostname.startsWith('[')) {
    const groups = parseV6(hostname.slice(1, -1));
    return groups ? classifyV6(groups) : 'an unreadable IPv6 address';
  }
  const v4Address = parseV4(hostname);
  if (v4Address !== undefined) return classifyV4(v4Address);
  const name = hostname.replace(/\.$/, '');
  if (PRIVATE_NAMES.has(name) || PRIVATE_SUFFIXES.some((suffix) => name.endsWith(suffix))) return 'a private or local host name';
  // A single-label name resolves through a private network's search domains only.
  if (!name.includes('.')) return 'a single-label (private network) host name';
  return undefined;
}

/**
 * The problem with a base URL, as a message for the field, or undefined when it is
 * fine. Userinfo is always refused (`api.openai.com@evil.example` goes to
 * evil.example); private hosts unless the provider allows them.
 */
export function baseUrlProblem(raw: string, allowPrivateNetwork: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined; // the field's own URL check reports it
  }
  // The raw authority too: an empty `@` leaves username '' but still hides the real host from a reader.
  const authority = /^[a-z][a-z0-9+.-]*:[\\/]*([^\\/?#]*)/i.exec(raw)?.[1] ?? '';
  if (url.username || url.password || authority.includes('@')) {
    return 'must not contain user info ("user:pass@" or "name@"): the host is what follows the "@"; put credentials in api_key_secret';
  }
  if (url.search || url.hash || raw.includes('?') || raw.includes('#')) {
    return 'must not carry a query or fragment: the gateway appends paths to it';
  }
  if (allowPrivateNetwork) return undefined;
  const what = privateHost(url.hostname);
  return what
    ? `points at ${url.hostname}, ${what}; set allow_private_network = true on this provider if it really runs on a private network`
    : undefined;
}
