/**
 * Per-request KV placement: which layers' KV live only on the host and are fetched every decode
 * step. The distance rule (orbitflow-method.md §3): with distance d ≥ 1, 0-based layer ℓ is
 * offloaded iff ℓ mod (d+1) = d, so n(d) = ⌊L/(d+1)⌋ layers are offloaded with d GPU-resident
 * layers of lead time before each. d = 0 offloads every layer (next-layer prefetch), d = −1 none.
 */
export const ALL_ON_GPU = -1;
export const ALL_OFFLOADED = 0;

export interface Placement {
  /** −1 all on GPU, 0 all offloaded, d ≥ 1 the distance rule; null when given as an explicit layer list. */
  distance: number | null;
  /** 0-based offloaded layers, ascending. */
  offloaded: readonly number[];
}

export function offloadCount(layers: number, distance: number): number {
  if (distance < 0) return 0;
  if (distance === 0) return layers;
  return Math.floor(layers / (distance + 1));
}

export function placementForDistance(layers: number, distance: number): Placement {
  if (!Number.isInteger(distance) || distance < -1) throw new RangeError(`distance must be an integer ≥ −1, got ${distance}`);
  const offloaded: number[] = [];
  if (distance === 0) {
    for (let l = 0; l < layers; l++) offloaded.push(l);
  } else if (distance > 0) {
    for (let l = distance; l < layers; l += distance + 1) offloaded.push(l);
  }
  return { distance, offloaded };
}

export function placementFromLayers(layers: number, offloaded: readonly number[]): Placement {
  const sorted = [...new Set(offloaded)].sort((a, b) => a - b);
  for (const l of sorted) {
    if (!Number.isInteger(l) || l < 0 || l >= layers) throw new RangeError(`layer ${l} is outside 0..${layers - 1}`);
  }
  return { distance: null, offloaded: sorted };
}

export function gpuLayerCount(layers: number, p: Placement): number {
  return layers - p.offloaded.length;
}

export function describePlacement(layers: number, p: Placement): string {
  if (p.offloaded.length === 0) return 'all on GPU';
  if (p.offloaded.length === layers) return 'all offloaded';
  return p.distance !== null ? `d=${p.distance}` : `${p.offloaded.length} layers`;
}
