import type { Rng } from '../core/rng.js';

/**
 * Multiplicative step-time noise with mean 1 and coefficient of variation `cv`: lognormal with
 * σ² = ln(1 + cv²) and μ = −σ²/2 (so E[X] = 1 and sd/mean = cv exactly). cv = 0 returns 1 and
 * draws nothing, so a noiseless run consumes no random numbers.
 */
export function createNoise(cv: number, rng: Rng): () => number {
  if (!(cv >= 0) || !Number.isFinite(cv)) throw new RangeError(`noise CV must be a finite number ≥ 0, got ${cv}`);
  if (cv === 0) return () => 1;
  const sigma = Math.sqrt(Math.log(1 + cv * cv));
  const mu = -(sigma * sigma) / 2;
  return () => Math.exp(mu + sigma * rng.normal());
}
