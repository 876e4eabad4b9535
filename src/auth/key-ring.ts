import type { GatewayConfig, KeyConfig } from '../config/schema';
import { type Env, secret } from '../env';
import { fieldPath } from '../config/load';
import { GatewayError } from '../errors';

export interface Caller {
  /** Stable id from the config: logged and used for limits, never secret. */
  keyId: string;
  policy: KeyConfig;
}

const encoder = new TextEncoder();

async function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', encoder.encode(text));
}

function hex(buffer: ArrayBuffer): string {
  let out = '';
  for (const byte of new Uint8Array(buffer)) out += byte.toString(16).padStart(2, '0');
  return out;
}

/**
 * Caller keys, indexed by the SHA-256 of their value. A presented key is hashed and
 * looked up in one Map access (O(1) whatever the number of keys), then its digest is
 * compared in constant time. Only digests stay in memory; timing on the Map lookup can
 * reveal at most which digest prefixes exist, which does not help find a preimage.
 */
export class KeyRing {
  private constructor(private readonly byDigest: Map<string, { digest: ArrayBuffer; caller: Caller }>) {}

  static async build(config: GatewayConfig, env: Env): Promise<KeyRing> {
    const byDigest = new Map<string, { digest: ArrayBuffer; caller: Caller }>();
    for (const [keyId, policy] of Object.entries(config.keys)) {
      // A missing secret is normal during rotation (the "next" slot is empty).
      for (const name of policy.secrets) {
        const value = secret(env, name);
        if (!value) continue;
        const digest = await sha256(value);
        const id = hex(digest);
        const holder = byDigest.get(id);
        if (holder && holder.caller.keyId !== keyId) {
          throw new GatewayError(
            'config_invalid',
            `Invalid gateway configuration: keys "${holder.caller.keyId}" and "${keyId}" share a secret value`,
            { param: fieldPath(['keys', keyId, 'secrets']) },
          );
        }
        byDigest.set(id, { digest, caller: { keyId, policy } });
      }
    }
    return new KeyRing(byDigest);
  }

  async identify(presented: string): Promise<Caller | undefined> {
    const digest = await sha256(presented);
    const entry = this.byDigest.get(hex(digest));
    if (!entry) return undefined;
    return crypto.subtle.timingSafeEqual(digest, entry.digest) ? entry.caller : undefined;
  }
}

// One ring per isolate: rebuilt only when the parsed config or the env changes.
let cached: { config: GatewayConfig; env: Env; ring: Promise<KeyRing> } | undefined;

export function keyRing(config: GatewayConfig, env: Env): Promise<KeyRing> {
  if (cached?.config !== config || cached.env !== env) {
    const ring = KeyRing.build(config, env);
    cached = { config, env, ring };
    // A failed build must not stick: the next request tries again.
    ring.catch(() => {
      if (cached?.ring === ring) cached = undefined;
    });
  }
  return cached.ring;
}
