// After the load: nothing lost. The D1 call log must hold one row per call the gateway
// answered, and each limited key's limiter object must count exactly its admissions.
import { LIMITED_CONCURRENCY_RULE, LIMITED_COUNT_RULE, TIGHT_COUNT_RULE } from './config.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The limiter object's own count for a rule, through Miniflare (RPC `usage`); null when unreachable. */
async function limiterCount(mf, object, rule) {
  try {
    const ns = await mf.getDurableObjectNamespace('LIMITER');
    const usage = await ns.get(ns.idFromName(object)).usage([rule]);
    return { used: usage.find((u) => u.name === rule.name)?.used ?? 0 };
  } catch (error) {
    return { used: null, why: `limiter internals not reachable (${error instanceof Error ? error.message : error})` };
  }
}

export async function verify(gateway, tally, tight) {
  const db = gateway.db;
  const rows = async () => (await db.prepare('SELECT COUNT(*) AS n FROM calls').first()).n;
  // The log is written in waitUntil batches: wait until it stops growing (or is complete).
  const sent = tally.answered + tally.unanswered;
  let n = await rows();
  for (let stable = 0, waited = 0; n < sent && stable < 8 && waited < 15_000; waited += 250) {
    await sleep(250);
    const next = await rows();
    stable = next === n ? stable + 1 : 0;
    n = next;
  }
  const byKey = (await db.prepare('SELECT key_id, limit_status, COUNT(*) AS n FROM calls GROUP BY key_id, limit_status').all()).results;
  const rowsFor = (key, status) => byKey.filter((r) => r.key_id === key && (status === undefined || r.limit_status === status)).reduce((s, r) => s + r.n, 0);
  const answeredBy = (key) => Object.values(tally.byKey[key]).reduce((a, b) => a + b, 0);

  const limited = await limiterCount(gateway.mf, 'key:limited', LIMITED_COUNT_RULE);
  const leased = await limiterCount(gateway.mf, 'key:leased', LIMITED_COUNT_RULE);
  const tightCount = await limiterCount(gateway.mf, 'key:tight', TIGHT_COUNT_RULE(tight));
  // Slot pools shrink a second after their key's last lease; calls ended long before.
  const slotsHeld = await limiterCount(gateway.mf, 'key:limited', LIMITED_CONCURRENCY_RULE);
  const keyCheck = (key, count) => {
    const admittedRows = rowsFor(key, 'admitted');
    const clientAdmitted = Object.entries(tally.byKey[key]).filter(([s]) => s >= 200 && s < 300).reduce((a, [, v]) => a + v, 0);
    const unanswered = tally.unansweredByKey[key];
    // Calls the client saw admitted are a floor; those it sent but saw no answer to may be admitted too.
    const consistent = admittedRows >= clientAdmitted && admittedRows <= clientAdmitted + unanswered;
    return {
      key,
      answered: answeredBy(key),
      unanswered,
      clientAdmitted,
      logRows: rowsFor(key),
      admittedRows,
      limiterCount: count.used,
      limiterWhy: count.why,
      exact: consistent && (count.used === null || count.used === admittedRows),
    };
  };
  return {
    answered: tally.answered,
    unanswered: tally.unanswered,
    sent,
    logRows: n,
    // Every call that reached the gateway is logged, answered or cut: rows must equal calls sent.
    lostRows: sent - n,
    slotsHeld: slotsHeld.used,
    keys: [keyCheck('limited', limited), keyCheck('leased', leased), keyCheck('tight', tightCount)],
  };
}
