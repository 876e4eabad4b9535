import { LogSettingsSchema, type GatewayConfig } from '../config/schema';
import type { Env } from '../env';
import type { Admission } from '../limits/admission';
import { callCost } from '../limits/pricing';
import { logCall } from '../logging/call-log';
import type { CallRecord } from '../logging/call-record';

// A call rejected for a bad config is still logged, with the default batching.
const DEFAULT_LOG = LogSettingsSchema.parse({});

export interface EndCall {
  env: Env;
  ctx: { waitUntil(promise: Promise<unknown>): void };
  /** Undefined when the config itself was invalid. */
  config: GatewayConfig | undefined;
  record: CallRecord;
  admission: Admission | undefined;
}

/**
 * The last stage of every call, run once its response (a stream's body included)
 * is over: price it, queue its log row, and settle its reservation to exactly what
 * the row says it used. Nothing here waits or throws into the call.
 */
export function endCall({ env, ctx, config, record, admission }: EndCall): void {
  if (config) {
    const cost = callCost(config, record);
    // A cache hit costs nothing upstream; what it would have cost is its saving.
    if (record.cacheStatus === 'HIT') [record.costUsd, record.savedUsd] = [cost === null ? null : 0, cost];
    else record.costUsd = cost;
  }
  logCall(env.DB, ctx, record, config?.log ?? DEFAULT_LOG);
  admission?.settle();
}
