import type { Strategy } from '../config/routing-schema';
import type { Target } from '../core/target';

/**
 * Orders one tier's targets for a call. `weighted`: a random order where each
 * target comes first in proportion to its weight (later ones too, among those
 * left), so traffic splits by weight and the rest are fallbacks. `latency`: the
 * lowest recent latency first (an exponentially weighted moving average per
 * target, per isolate); targets without a measurement yet go first, to get one.
 */

const ALPHA = 0.3;
const latencyMs = new Map<string, number>();

export function recordLatency(targetId: string, ms: number): void {
  const previous = latencyMs.get(targetId);
  latencyMs.set(targetId, previous === undefined ? ms : ALPHA * ms + (1 - ALPHA) * previous);
}

export function orderTier(tier: readonly Target[], strategy: Strategy, random: () => number = Math.random): Target[] {
  if (tier.length <= 1) return [...tier];
  if (strategy === 'latency') {
    return [...tier].sort((a, b) => (latencyMs.get(a.id) ?? -1) - (latencyMs.get(b.id) ?? -1));
  }
  const left = [...tier];
  const ordered: Target[] = [];
  while (left.length > 0) {
    let pick = random() * left.reduce((sum, t) => sum + t.weight, 0);
    let index = 0;
    while (index < left.length - 1 && pick >= left[index]!.weight) pick -= left[index++]!.weight;
    ordered.push(...left.splice(index, 1));
  }
  return ordered;
}
