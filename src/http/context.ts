import type { Caller } from '../auth/key-ring';
import type { GatewayConfig } from '../config/schema';
import type { Env } from '../env';
import type { IngressFormat } from '../ingress/format';
import type { Admission } from '../limits/admission';
import type { CallRecord } from '../logging/call-record';

/** The Hono environment, typed once for the whole app. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    record: CallRecord;
    config: GatewayConfig;
    caller: Caller;
    /** Set when the caller's key has limits and the call was admitted. */
    admission?: Admission;
    /**
     * For a response whose body outlives the handler (a stream): the call then ends
     * when the returned function is called, not when the handler returns.
     */
    endLater: () => () => void;
    /** The public API the route speaks, when not OpenAI's: its errors take that format's shape. */
    format?: IngressFormat;
  };
}
