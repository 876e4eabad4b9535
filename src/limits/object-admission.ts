import type { LimiterNamespace as Namespace, Waiter } from './namespace';
import { adopt, askDone, askFor, askInFlight, leaseClock, leaseKey, leaseStates, settleFromLease, shouldRenew, takeFromLease, type Need } from './lease-book';
import { restatePool } from './slot-pool';
import { queueSettlement, takeSettlements } from './settle-queue';
import type { AdmitResult, Rule, SettleItem } from './types';

/**
 * One call's admission by one limiter object, by the cheapest path that stays exact
 * (lease-book.ts says which rules take which):
 *  1. the isolate's live lease for these rules, if the call fits it: no round trip;
 *  2. else, while a lease for them is being asked for, that answer, then 1 again;
 *  3. else one `admit` RPC, carrying this isolate's queued settlements for the object
 *     and, when the rules can be leased, an ask for a new lease (and slot pool); the object grants it
 *     (the call is then taken from it) or, when the slice does not fit what remains,
 *     admits the call alone.
 */


export interface CallAmounts extends Need {
  id: string;
  /** Concurrency lease lifetime. */
  lease_ms: number;
}

export interface Admitted {
  result: AdmitResult;
  /** Queues the call's settlement to what it used (nothing for a refused call). */
  settle(actual: Need): void;
}

export function admitAt(ns: Namespace, object: string, rules: Rule[], call: CallAmounts, ctx: Waiter): Admitted | Promise<Admitted> {
  const key = leaseKey(object, rules);
  const local = fromLease(ns, object, key, rules, call, ctx);
  if (local) return local;
  const asked = askInFlight(ns, key);
  if (asked) return asked.then(() => fromLease(ns, object, key, rules, call, ctx) ?? overRpc(ns, object, key, rules, call, leaseClock.now(), ctx));
  return overRpc(ns, object, key, rules, call, leaseClock.now(), ctx);
}

function fromLease(ns: Namespace, object: string, key: string, rules: Rule[], call: CallAmounts, ctx: Waiter): Admitted | undefined {
  const now = leaseClock.now();
  const lease = takeFromLease(ns, key, call, now, ctx);
  if (!lease) return undefined;
  if (shouldRenew(lease)) ctx.waitUntil(renew(ns, object, key, rules, call, ctx));
  return { result: { ok: true, states: leaseStates(lease, now) }, settle: (actual) => settleFromLease(lease, call, actual, ctx) };
}

/** The next lease, asked for off the call's path; on refusal nothing happens (calls go to the object when this one runs out). */
async function renew(ns: Namespace, object: string, key: string, rules: Rule[], call: CallAmounts, ctx: Waiter): Promise<void> {
  const ask = askFor(ns, object, key, rules, call, call.lease_ms);
  if (!ask) return;
  const now = leaseClock.now();
  const settle = takeSettlements(ns, object);
  try {
    const stub = ns.get(ns.idFromName(object));
    const result = await stub.admit({ id: `${ask.id}:renew`, rules, tokens: 0, cost: 0, lease_ms: 0, settle, lease: ask, lease_only: true });
    if (result.ok && result.lease) adopt(ns, object, key, result.lease, result.states, now, undefined, ctx);
  } catch (error) {
    requeue(ns, object, settle, ctx);
    if (ask.pool) restatePool(ns, key, ctx);
    console.error(`limiter: lease renewal for ${object} failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    askDone(ns, key, ask, ctx);
  }
}

async function overRpc(ns: Namespace, object: string, key: string, rules: Rule[], call: CallAmounts, now: number, ctx: Waiter, leasing = true): Promise<Admitted> {
  const ask = leasing ? askFor(ns, object, key, rules, call, call.lease_ms) : undefined;
  const settle = takeSettlements(ns, object);
  let result: AdmitResult;
  try {
    result = await ns.get(ns.idFromName(object)).admit({ id: call.id, rules, tokens: call.tokens, cost: call.cost, lease_ms: call.lease_ms, settle, lease: ask });
    if (result.ok && result.lease) {
      const lease = adopt(ns, object, key, result.lease, result.states, now, call, ctx);
      // Granted, but its pool was overtaken meanwhile: the call is admitted alone (a reservation id is used once).
      if (!lease) return overRpc(ns, object, key, rules, { ...call, id: `${call.id}:alone` }, now, ctx, false);
      return { result: { ok: true, states: leaseStates(lease, now) }, settle: (actual) => settleFromLease(lease, call, actual, ctx) };
    }
  } catch (error) {
    requeue(ns, object, settle, ctx);
    if (ask?.pool) restatePool(ns, key, ctx);
    throw error;
  } finally {
    if (ask) askDone(ns, key, ask, ctx);
  }
  return {
    result,
    settle: (actual) => {
      if (result.ok) queueSettlement(ns, object, { id: call.id, tokens: actual.tokens, cost: actual.cost }, ctx);
    },
  };
}

/**
 * Settlements an RPC carried that failed: whether the object applied them is unknown.
 * Final ones are idempotent and go back in the queue; deltas are not, and are reported lost.
 */
function requeue(ns: Namespace, object: string, items: SettleItem[] | undefined, ctx: Waiter): void {
  const deltas = items?.filter((item) => item.delta).length ?? 0;
  if (deltas > 0) console.error(`limiter: ${deltas} lease correction(s) for ${object} may be lost`);
  for (const item of items ?? []) if (!item.delta) queueSettlement(ns, object, item, ctx);
}
