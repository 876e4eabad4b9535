import { byNamespace, type LimiterNamespace as Namespace, type Waiter } from './namespace';
import type { SettleItem } from './types';

/**
 * Settlements leave the call's path (issue 11): each is queued per isolate and per
 * limiter object, and reaches the object by whichever comes first:
 *  - the next admission RPC this isolate sends to that object carries them (admit
 *    applies them first, in its transaction), so a call that ended frees its
 *    concurrency slot before the next admission of this isolate is checked;
 *  - a flush `FLUSH_MS` after the first one was queued, one `settleMany` RPC per object;
 *  - at once, when an object has `MAX_BATCH` waiting.
 * So a slot stays held at most FLUSH_MS plus one RPC after its call ended (longer
 * only if the object is slow to answer), and for the next admission in this isolate
 * not at all. As in the call log, the request that opens a batch carries its flush
 * in `waitUntil`, so no I/O crosses request contexts. A lost batch (the object
 * unreachable) is reported; its concurrency leases then end at `limits.lease_s`.
 */

export const FLUSH_MS = 2;
const MAX_BATCH = 200;

// Per binding (tests swap it), then per object name.
const pending = new Map<Namespace, Map<string, SettleItem[]>>();
let flushScheduled = false;

export function queueSettlement(ns: Namespace, object: string, item: SettleItem, ctx: Waiter): void {
  const byObject = byNamespace(pending, ns);
  let items = byObject.get(object);
  if (!items) byObject.set(object, (items = []));
  items.push(item);
  if (items.length >= MAX_BATCH) {
    byObject.delete(object);
    ctx.waitUntil(send(ns, object, items));
  } else if (!flushScheduled) {
    flushScheduled = true;
    ctx.waitUntil(
      new Promise((resolve) => setTimeout(resolve, FLUSH_MS)).then(() => {
        flushScheduled = false;
        return flushAll();
      }),
    );
  }
}

/** The settlements waiting for `object`, handed to an admission RPC that carries them. */
export function takeSettlements(ns: Namespace, object: string): SettleItem[] | undefined {
  const byObject = pending.get(ns);
  const items = byObject?.get(object);
  if (items) byObject!.delete(object);
  return items;
}

/** Sends everything waiting, one RPC per object. */
export function flushAll(): Promise<unknown> {
  const sends: Promise<void>[] = [];
  for (const [ns, byObject] of pending) {
    for (const [object, items] of byObject) sends.push(send(ns, object, items));
  }
  pending.clear();
  return Promise.all(sends);
}

async function send(ns: Namespace, object: string, items: SettleItem[]): Promise<void> {
  try {
    await ns.get(ns.idFromName(object)).settleMany(items);
  } catch (error) {
    console.error(`limiter: ${items.length} settlement(s) for ${object} lost: ${error instanceof Error ? error.message : String(error)}`);
  }
}
