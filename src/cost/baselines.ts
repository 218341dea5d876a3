import { ALL_OFFLOADED, ALL_ON_GPU, placementForDistance } from '../core/placement.js';
import { blocksPerLayer } from '../core/model-spec.js';
import type { CostModel } from './cost-model.js';

/** The paper's baselines (orbitflow-method.md §11), each one uniform distance for the whole batch. */
export const BASELINE_POLICIES = ['gpu-only', 'deepspeed', 'flexgen', 'flexgen-plus', 'dynamic', 'slo-aware'] as const;
export type BaselinePolicy = (typeof BASELINE_POLICIES)[number];

export function isBaselinePolicy(p: string): p is BaselinePolicy {
  return (BASELINE_POLICIES as readonly string[]).includes(p);
}

export interface BaselineInput {
  /** Context tokens of each request in the batch. */
  contextTokens: readonly number[];
  /** GPU KV budget in per-layer blocks (decode: total; prefill: free). */
  budgetBlocks: number;
  /** FlexGen+'s floor on a request's length (`flexgen_tok_estimate`); 0 disables it. */
  tokenEstimate?: number;
}

/** Uniform capacity-fitted distance shared by FlexGen+ and the Dynamic Heuristic. */
function capacityFittedDistance(layers: number, perLayerBlocks: number, budgetBlocks: number): number {
  const onGpu = perLayerBlocks === 0 ? layers : Math.min(layers, Math.floor(budgetBlocks / perLayerBlocks));
  const nOff = layers - onGpu;
  if (nOff === 0) return ALL_ON_GPU;
  return Math.max(1, Math.floor(layers / nOff) - 1);
}

/** The distance a baseline policy gives every request of the batch. */
export function baselineDistance(policy: BaselinePolicy, input: BaselineInput, cost: CostModel): number {
  const L = cost.layers;
  const est = input.tokenEstimate ?? 0;
  switch (policy) {
    case 'gpu-only':
      return ALL_ON_GPU;
    case 'deepspeed':
      return ALL_OFFLOADED;
    case 'flexgen':
      return 1;
    case 'flexgen-plus': {
      let perLayer = 0;
      for (const c of input.contextTokens) perLayer += blocksPerLayer(Math.max(c, est)) + 1;
      return capacityFittedDistance(L, perLayer, input.budgetBlocks);
    }
    case 'dynamic': {
      let perLayer = 0;
      for (const c of input.contextTokens) perLayer += blocksPerLayer(c) + 2;
      return capacityFittedDistance(L, perLayer, input.budgetBlocks);
    }
    case 'slo-aware': {
      // n = ⌊NoPrefetch(X) / Communication(X)⌋ from the profile: all-on-GPU step time over the
      // all-offloaded next-layer-prefetch step time at the batch's total tokens.
      const ctx = input.contextTokens.map((c) => Math.max(c, est));
      const noPrefetch = cost.stepTime(ctx.map((c) => ({ contextTokens: c, placement: placementForDistance(L, ALL_ON_GPU) }))).totalMs;
      const comm = cost.stepTime(ctx.map((c) => ({ contextTokens: c, placement: placementForDistance(L, ALL_OFFLOADED) }))).totalMs;
      const n = comm > 0 ? Math.floor(noPrefetch / comm) : L;
      if (n < 1) return 1;
      const d = Math.max(1, Math.floor(L / n));
      return d >= L ? ALL_ON_GPU : d;
    }
  }
}
