import { placementForDistance, placementFromLayers, type Placement } from '../core/placement.js';

/**
 * Shared, immutable Placement objects per distance (the hot loop never builds one), and the layer
 * union that says what a placement change costs: layers that become GPU-resident are fetched from
 * the host copy once, like the offloaded ones; layers that become offloaded are simply freed (the
 * host already holds them, write-through).
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

  /** Layers offloaded under `a` or `b` (`b` itself when it already covers `a`). */
  union(a: Placement, b: Placement): Placement {
    if (a === b || a.offloaded.length === 0) return b;
    if (b.offloaded.length === this.layers) return b;
    const m = this.mask(b);
    let covered = true;
    for (const l of a.offloaded) if (m[l] === 0) covered = false;
    if (covered) return b;
    return placementFromLayers(this.layers, [...a.offloaded, ...b.offloaded]);
  }
}
