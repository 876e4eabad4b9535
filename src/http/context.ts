import type { Caller } from '../auth/key-ring';
import type { GatewayConfig } from '../config/schema';
import type { Env } from '../env';
import type { CallRecord } from '../logging/call-record';

/** The Hono environment, typed once for the whole app. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    call: CallRecord;
    config: GatewayConfig;
    caller: Caller;
  };
}
