import { join } from 'node:path';
import { getModel } from '../../src/core/model-catalogue.js';
import { createRng, type Rng } from '../../src/core/rng.js';
import { CostModel } from '../../src/cost/cost-model.js';
import { growthBlocks } from '../../src/planner/memory.js';
import type { PlanRequest } from '../../src/planner/types.js';
import { loadProfile } from '../../src/profile/load.js';
import { PROFILES } from '../helpers/paths.js';

export const A6000_8B = new CostModel(getModel('llama-3.1-8b'), loadProfile(join(PROFILES, 'a6000-llama-3.1-8b.published-fit.json')).profile);
export const H100_8B = new CostModel(getModel('llama-3.1-8b'), loadProfile(join(PROFILES, 'h100-sxm.datasheet.json')).profile);
export const A6000_70B_TP4 = new CostModel(getModel('llama-3.1-70b'), loadProfile(join(PROFILES, 'a6000-llama-3.1-70b-tp4.published-fit.json')).profile, { tp: 4 });
export const COSTS = [A6000_8B, H100_8B, A6000_70B_TP4];

export function randomRequests(rng: Rng, n: number, maxTokens = 40_000): PlanRequest[] {
  return Array.from({ length: n }, (_, i) => ({ id: `r${i}`, contextTokens: rng.int(16, maxTokens) }));
}

/** Σ blocks of every request all on the GPU (the most a plan can want) and of every request all offloaded (the least it can use). */
export function memoryRange(cost: CostModel, reqs: readonly PlanRequest[], windowSteps = 16): { min: number; max: number } {
  let min = 0;
  let max = 0;
  for (const r of reqs) {
    const g = growthBlocks(r.contextTokens, windowSteps);
    min += g;
    max += cost.layers * g;
  }
  return { min, max };
}

/** A budget somewhere between the least and the most a batch can use. */
export function randomBudget(rng: Rng, cost: CostModel, reqs: readonly PlanRequest[]): number {
  const { min, max } = memoryRange(cost, reqs);
  return Math.floor(min + rng.next() * (max - min));
}

export { createRng };
