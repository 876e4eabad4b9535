import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import type { BreakerSettings, Outcome, TargetHealth } from './health-types';

/** Placeholder: implemented against health-types.ts. */
export class Health extends DurableObject<Env> {
  snapshot(): TargetHealth[] {
    return [];
  }
  report(target: string, _outcome: Outcome, _settings: BreakerSettings): TargetHealth {
    return { target, state: 'closed', consecutiveFailures: 0, blockedUntil: 0, retryAfterUntil: 0 };
  }
  claimProbe(_target: string, _settings: BreakerSettings): boolean {
    return true;
  }
}
