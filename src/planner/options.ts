import { ALL_OFFLOADED, ALL_ON_GPU, offloadCount, placementForDistance, type Placement } from '../core/placement.js';

/**
 * The option set a request chooses from: for each achievable offload count n, the widest distance
 * d with ⌊L/(d+1)⌋ = n (widest = most lead time per copy), plus "all on GPU" (d = −1) and "all
 * offloaded" (d = 0, next-layer prefetch), which the artifact's V1 solver lacked.
 * L = 32 gives offload counts {0, 1, 2, 3, 4, 5, 6, 8, 10, 16, 32}.
 */
export function distanceOptions(layers: number): number[] {
  const seen = new Set<number>();
  const out: number[] = [ALL_ON_GPU];
  for (let d = layers - 1; d >= 1; d--) {
    const n = offloadCount(layers, d);
    if (n === 0 || seen.has(n)) continue;
    seen.add(n);
    out.push(d);
  }
  if (!seen.has(layers)) out.push(ALL_OFFLOADED);
  return out;
}

export interface PlacementOption {
  distance: number;
  placement: Placement;
  offloadedLayers: number;
}

export function placementOptions(layers: number): PlacementOption[] {
  return distanceOptions(layers).map((d) => {
    const placement = placementForDistance(layers, d);
    return { distance: d, placement, offloadedLayers: placement.offloaded.length };
  });
}
