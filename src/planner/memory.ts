import { blocksPerLayer } from '../core/model-spec.js';
import type { Placement } from '../core/placement.js';

/**
 * GPU memory of a plan, in per-layer blocks (one 16-token block of one layer of one request):
 *
 *   Σ_r (L − n_r) · ⌈(ctx_r + W)/16⌉   resident layers, each with room for W more tokens
 * + max_j Σ_{r offloads j} ⌈(ctx_r + W)/16⌉   staging: one layer's worth of the offloaded blocks
 *
 * The staging region is where a fetched layer lands before its attention runs (the artifact's merged
 * prefetch buffer, orbitflow-method.md §2). It is sized for the window's growth too, so the plan
 * stays valid for all W steps. "All offloaded" therefore still costs one layer of blocks, and that
 * is the smallest footprint any placement of a request can have.
 */
export function growthBlocks(contextTokens: number, windowSteps: number): number {
  return blocksPerLayer(contextTokens + windowSteps);
}

/** The blocks the smallest placement of one request (all layers offloaded: staging only) needs. */
export function smallestPlacementBlocks(contextTokens: number, windowSteps: number): number {
  return growthBlocks(contextTokens, windowSteps);
}

export interface PlanMemory {
  /** Resident blocks per request, in input order. */
  perRequest: number[];
  stagingBlocks: number;
  totalBlocks: number;
}

export function planMemory(
  layers: number,
  items: readonly { contextTokens: number; placement: Placement }[],
  windowSteps: number,
): PlanMemory {
  const staging = new Float64Array(layers);
  const perRequest: number[] = [];
  let resident = 0;
  for (const it of items) {
    const g = growthBlocks(it.contextTokens, windowSteps);
    const blocks = (layers - it.placement.offloaded.length) * g;
    perRequest.push(blocks);
    resident += blocks;
    for (const l of it.placement.offloaded) staging[l] += g;
  }
  let stagingBlocks = 0;
  for (let j = 0; j < layers; j++) if (staging[j] > stagingBlocks) stagingBlocks = staging[j];
  return { perRequest, stagingBlocks, totalBlocks: resident + stagingBlocks };
}
