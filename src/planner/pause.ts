import type { Rng } from '../core/rng.js';
import type { PausePolicy } from './types.js';

export interface PauseCandidate {
  id: string;
  contextTokens: number;
  sloTpotMs?: number;
}

/**
 * The Pause-Resume victim (orbitflow-method.md §8, the artifact's `--pause-strategy`):
 * longest = largest context (largest KV footprint); shortest = smallest; random = uniform, seeded;
 * slo-loose / slo-strict = the smallest / largest (SLO ms, context) pair, as the artifact defines
 * them (a request without an SLO counts as an infinitely loose SLO). Ties go to the earlier request.
 * Returns an index into `candidates`.
 */
export function pickVictim(policy: PausePolicy, candidates: readonly PauseCandidate[], rng: Rng): number {
  if (candidates.length === 0) throw new RangeError('no pause candidates');
  if (policy === 'random') return rng.int(0, candidates.length - 1);
  const slo = (c: PauseCandidate): number => c.sloTpotMs ?? Infinity;
  // better(a, b) > 0 when a is the preferred victim over b.
  const better = (a: PauseCandidate, b: PauseCandidate): number => {
    switch (policy) {
      case 'longest':
        return a.contextTokens - b.contextTokens;
      case 'shortest':
        return b.contextTokens - a.contextTokens;
      case 'slo-loose':
        return slo(a) !== slo(b) ? (slo(a) < slo(b) ? 1 : -1) : b.contextTokens - a.contextTokens;
      case 'slo-strict':
        return slo(a) !== slo(b) ? (slo(a) > slo(b) ? 1 : -1) : a.contextTokens - b.contextTokens;
    }
  };
  let best = 0;
  for (let i = 1; i < candidates.length; i++) if (better(candidates[i], candidates[best]) > 0) best = i;
  return best;
}
