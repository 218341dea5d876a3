import { placementForDistance, placementFromLayers, type Placement } from '../core/placement.js';

/**
 * Shared, immutable Placement objects per distance (the hot loop never builds one), and the
 * layer-set difference that decides what a placement change costs: layers that become
 * GPU-resident are reloaded from the host copy; layers that become offloaded are simply freed
 * (the host already holds them, write-through).
 */
export class PlacementCache {
  private readonly byDistance = new Map<number, Placement>();
  private readonly masks = new WeakMap<Placement, Uint8Array>();

  constructor(readonly layers: number) {}

  distance(d: number): Placement {
    let p = this.byDistance.get(d);
    if (!p) {
      // d ≥ L offloads nothing: the alias for "all on GPU" that SolverV2 uses.
      p = placementForDistance(this.layers, d);
      this.byDistance.set(d, p);
    }
    return p;
  }

  layersList(offloaded: readonly number[]): Placement {
    return placementFromLayers(this.layers, offloaded);
  }

  private mask(p: Placement): Uint8Array {
    let m = this.masks.get(p);
    if (!m) {
      m = new Uint8Array(this.layers);
      for (const l of p.offloaded) m[l] = 1;
      this.masks.set(p, m);
    }
    return m;
  }

  /** Layers offloaded under `from` but GPU-resident under `to`: what a switch must reload. */
  newlyResident(from: Placement, to: Placement): number {
    if (from === to || from.offloaded.length === 0) return 0;
    if (to.offloaded.length === 0) return from.offloaded.length;
    const m = this.mask(to);
    let n = 0;
    for (const l of from.offloaded) if (m[l] === 0) n++;
    return n;
  }
}
