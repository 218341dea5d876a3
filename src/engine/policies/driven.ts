import { offloadCount } from '../../core/placement.js';
import type { EnginePolicy } from './engine-policy.js';

/**
 * `orbitflow` (an in-process driver decides) and `external` (decisions arrive over the control
 * protocol): placements, pauses and admissions come from decisions. Until one arrives, and for
 * requests no decision placed, the Dynamic Heuristic's distance applies; when the batch's growth
 * does not fit, every undecided and decided request falls back to it before the engine preempts.
 */
export function drivenPolicy(name: 'orbitflow' | 'external'): EnginePolicy {
  return {
    name,
    hostTier: true,
    driven: true,
    admission: (host, tokens) => ({ placement: host.placement(host.uniformDistance('dynamic', tokens)), uniform: false }),
    minAdmissionGpuLayers: (layers) => layers - offloadCount(layers, 1),
    beforeDecode: (host) => host.placeRunning(host.placement(host.uniformDistance('dynamic')), true),
    relieveMemory: (host) => host.placeRunning(host.placement(host.uniformDistance('dynamic')), false),
  };
}
