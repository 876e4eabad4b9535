/**
 * Deletes what is older than the retention window, a bounded batch at a time: each
 * statement removes at most `batchRows` calls (and their attempts, in the same
 * transaction), and a run stops after `maxBatches`, so D1 is never held long and a
 * backlog is worked off over several runs.
 */

export interface Deleted {
  calls: number;
  attempts: number;
  /** False when the run stopped at its bound with old rows left. */
  done: boolean;
}

// The same oldest-first selection twice in one transaction picks the same calls.
const OLDEST = 'SELECT request_id FROM calls WHERE ts < ?1 ORDER BY ts LIMIT ?2';
const DELETE_ATTEMPTS = `DELETE FROM attempts WHERE request_id IN (${OLDEST})`;
const DELETE_CALLS = `DELETE FROM calls WHERE request_id IN (${OLDEST})`;

/** Deletes calls (and their attempts) that started before `cutoff` (ISO, as calls.ts). */
export async function deleteOldCalls(db: D1Database, cutoff: string, batchRows: number, maxBatches: number): Promise<Deleted> {
  const deleted: Deleted = { calls: 0, attempts: 0, done: false };
  for (let batch = 0; batch < maxBatches; batch++) {
    const [attempts, calls] = await db.batch([
      db.prepare(DELETE_ATTEMPTS).bind(cutoff, batchRows),
      db.prepare(DELETE_CALLS).bind(cutoff, batchRows),
    ]);
    deleted.attempts += attempts!.meta.changes;
    deleted.calls += calls!.meta.changes;
    if (calls!.meta.changes < batchRows) {
      deleted.done = true;
      break;
    }
  }
  return deleted;
}

export interface DeletedPayloads {
  objects: number;
  done: boolean;
}

const PAYLOAD_KEY = /^\d{4}-\d{2}-\d{2}\//;
/** R2 lists, and deletes, at most this many keys in one call. */
export const R2_PAGE_MAX = 1000;

/**
 * Deletes payload objects of whole UTC days before `cutoffDay` ('YYYY-MM-DD'). Keys
 * start with their day, and R2 lists keys in lexicographic order, so the oldest
 * come first and the listing stops at the first key of a day still kept.
 */
export async function deleteOldPayloads(bucket: R2Bucket, cutoffDay: string, maxRounds: number, page = R2_PAGE_MAX): Promise<DeletedPayloads> {
  let objects = 0;
  for (let round = 0; round < maxRounds; round++) {
    const listing = await bucket.list({ limit: Math.min(page, R2_PAGE_MAX) });
    const old = listing.objects.map((o) => o.key).filter((key) => PAYLOAD_KEY.test(key) && key.slice(0, 10) < cutoffDay);
    if (old.length > 0) await bucket.delete(old);
    objects += old.length;
    if (old.length < listing.objects.length || !listing.truncated) return { objects, done: true };
  }
  return { objects, done: false };
}
