import { offloadCount } from '../../core/placement.js';
import type { EnginePolicy } from './engine-policy.js';

/** A policy that gives every request the same fixed distance and never re-places it. */
export function staticDistancePolicy(name: string, distance: number, hostTier: boolean): EnginePolicy {
  return {
    name,
    hostTier,
    driven: false,
    admission: (host) => ({ placement: host.placement(distance), uniform: false }),
    minAdmissionGpuLayers: (layers) => layers - offloadCount(layers, distance),
    beforeDecode: () => {},
  };
}
