import type { Context } from 'hono';
import type { ForwardInput } from '../../passthrough/forward';
import type { AppEnv } from '../context';

/** What a native forward (passthrough/native.ts) needs of the call's context, but its body. */
export function nativeInput(c: Context<AppEnv>): Omit<ForwardInput, 'body'> {
  return {
    env: c.env, ctx: c.executionCtx, config: c.get('config'), caller: c.get('caller'), record: c.get('record'), request: c.req.raw,
    onAdmitted: (admission) => c.set('admission', admission),
    endLater: c.get('endLater'),
  };
}
