import { type Env, secret } from '../env';

/**
 * The admin credential: one Worker secret, `GATEWAY_ADMIN_KEY`, separate from every
 * caller key. Scripts send it as `Authorization: Bearer`; the dashboard's login form
 * trades it for a session cookie holding a signed, expiring token, so the secret
 * itself never sits in the browser. Unset, the dashboard and its API are disabled.
 */

export const ADMIN_SECRET = 'GATEWAY_ADMIN_KEY';
export const SESSION_COOKIE = 'gateway_admin';
export const SESSION_TTL_MS = 12 * 3600_000;

const encoder = new TextEncoder();

export function adminSecret(env: Env): string | undefined {
  return secret(env, ADMIN_SECRET);
}

async function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', encoder.encode(text));
}

/**
 * Both sides are hashed first, so the constant-time compare always sees two 32-byte
 * digests: its time depends neither on the presented value's length nor on how many
 * of its leading characters are right.
 */
export async function isAdminKey(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(presented), sha256(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

// The session key is derived from the secret (HKDF), never the secret itself:
// rotating the secret ends every session. One key per isolate, per secret value.
let sessionKey: { secret: string; key: Promise<CryptoKey> } | undefined;

function keyFor(adminKey: string): Promise<CryptoKey> {
  if (sessionKey?.secret !== adminKey) {
    const key = crypto.subtle
      .importKey('raw', encoder.encode(adminKey), 'HKDF', false, ['deriveKey'])
      .then((material) =>
        crypto.subtle.deriveKey(
          { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: encoder.encode('edge-ai-gateway admin session v1') },
          material,
          { name: 'HMAC', hash: 'SHA-256', length: 256 },
          false,
          ['sign', 'verify'],
        ),
      );
    sessionKey = { secret: adminKey, key };
  }
  return sessionKey.key;
}

function base64url(bytes: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64url(text: string): Uint8Array | null {
  try {
    const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
    return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

/** `<expires ms>.<nonce>.<HMAC of both>`: stateless, checked with the derived key. */
export async function issueSession(adminKey: string, now: number): Promise<string> {
  const nonce = crypto.randomUUID().replaceAll('-', '');
  const payload = `${now + SESSION_TTL_MS}.${nonce}`;
  const signature = await crypto.subtle.sign('HMAC', await keyFor(adminKey), encoder.encode(`v1.${payload}`));
  return `${payload}.${base64url(signature)}`;
}

export async function isValidSession(token: string, adminKey: string, now: number): Promise<boolean> {
  const match = /^(\d{1,16})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return false;
  const signature = fromBase64url(match[3]!);
  if (!signature) return false;
  const payload = `${match[1]}.${match[2]}`;
  // crypto.subtle.verify compares in constant time.
  const genuine = await crypto.subtle.verify('HMAC', await keyFor(adminKey), signature, encoder.encode(`v1.${payload}`));
  return genuine && Number(match[1]) > now;
}

export function cookieValue(request: Request, name: string): string | undefined {
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function secureFlag(request: Request): string {
  return new URL(request.url).protocol === 'https:' ? '; Secure' : '';
}

export function sessionCookie(request: Request, token: string): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_MS / 1000}${secureFlag(request)}`;
}

export function clearedSessionCookie(request: Request): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secureFlag(request)}`;
}

export type Credential = 'bearer' | 'session';

/**
 * Who is asking: `bearer` (the secret in the Authorization header), `session` (a
 * valid login cookie), `wrong` (an Authorization header that is not the secret: no
 * fallback to the cookie), or null (nothing presented).
 */
export async function presented(request: Request, adminKey: string, now: number): Promise<Credential | 'wrong' | null> {
  const authorization = request.headers.get('authorization');
  if (authorization !== null) {
    const token = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)?.[1];
    return token !== undefined && (await isAdminKey(token, adminKey)) ? 'bearer' : 'wrong';
  }
  const session = cookieValue(request, SESSION_COOKIE);
  if (session === undefined) return null;
  return (await isValidSession(session, adminKey, now)) ? 'session' : null;
}

/**
 * CSRF: a state-changing request that rides on the cookie must come from our own
 * pages. SameSite=Strict already keeps the cookie off cross-site requests; the Origin
 * check (browsers send Origin on every POST) is the second lock.
 */
export function sameOrigin(request: Request): boolean {
  const origin = request.headers.get('origin');
  return origin !== null && origin === new URL(request.url).origin;
}
