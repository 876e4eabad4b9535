import { orderTier } from './balance';
import { availability } from './health';
import type { Route, Target } from '../core/target';

/**
 * Which targets one call walks, in which order, before any is called.
 *
 * Tiers in order, each ordered by the route's strategy. A target whose breaker is
 * open or whose provider asked us to wait is left out (and logged as skipped). Left
 * out by breakers alone, a model could lose every way out because of a few bad
 * answers; so, like Envoy's panic threshold (and LiteLLM never cooling down a
 * model's only deployment), when fewer than `panic_threshold` of the route's
 * targets remain callable (or none), the left-out targets that still *answer*
 * are appended, least-bad first (fewest consecutive failures). Two kinds are never
 * called anyway: targets whose last failure got no answer at all (refused, reset,
 * no headers in time: a fast refusal beats a slow one, and the half-open probe
 * keeps testing them) and targets a provider asked us to leave alone for a while.
 */

export type Step =
  /** Call it; `probe` when its breaker is half-open and the fleet's one probe must be claimed first. */
  | { target: Target; action: 'call'; probe: boolean }
  /** Called although its breaker is open: the route's last way out. */
  | { target: Target; action: 'panic' }
  /** Not called: blocked until `until` by its breaker or a provider's back-off. */
  | { target: Target; action: 'skip'; cause: 'breaker' | 'backoff'; until: number };

export interface Plan {
  steps: Step[];
  /** Targets of the route that do not serve this endpoint (400 if nothing else can). */
  unsupported: Target | undefined;
}

export function planCall(route: Route, supports: (target: Target) => boolean, panicThreshold: number, now: number = Date.now()): Plan {
  const steps: Step[] = [];
  const lastResort: { target: Target; failures: number; until: number }[] = [];
  /** Half-open targets that still answer: callable by the probe, or by anyone in a panic. */
  const onTrial = new Set<Target>();
  let unsupported: Target | undefined;
  let callable = 0;
  let total = 0;
  for (const tier of route.tiers) {
    for (const target of orderTier(tier, route.strategy)) {
      if (!supports(target)) {
        unsupported ??= target;
        continue;
      }
      total++;
      const health = availability(target, now);
      if (health.ok) {
        if (health.probe && health.soft) onTrial.add(target);
        else callable++;
        steps.push({ target, action: 'call', probe: health.probe });
      } else {
        steps.push({ target, action: 'skip', cause: health.cause, until: health.until });
        if (health.soft) lastResort.push({ target, failures: health.failures, until: health.until });
      }
    }
  }
  const panic = lastResort.length + onTrial.size > 0 && (callable === 0 || callable < panicThreshold * total);
  if (!panic) return { steps, unsupported };
  lastResort.sort((a, b) => a.failures - b.failures || a.until - b.until);
  const rescued = new Set(lastResort.map((r) => r.target));
  // In a panic nobody waits for the probe, and a rescued target is called last instead of skipped.
  const kept = steps
    .filter((step) => !rescued.has(step.target))
    .map((step): Step => (onTrial.has(step.target) ? { target: step.target, action: 'panic' } : step));
  return { steps: [...kept, ...lastResort.map(({ target }): Step => ({ target, action: 'panic' }))], unsupported };
}
