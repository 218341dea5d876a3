import { offloadCount } from '../../core/placement.js';
import type { BaselinePolicy } from '../../cost/baselines.js';
import type { EnginePolicy } from './engine-policy.js';

/**
 * A baseline rule that gives the whole batch one capacity-fitted distance, recomputed before every
 * decode step (`everyStep`) or only when the batch's membership changes; an admission re-places
 * the batch with the distance that counts the newcomer.
 */
export function uniformRulePolicy(rule: BaselinePolicy, everyStep: boolean): EnginePolicy {
  let placedFor = -1;
  return {
    name: rule,
    hostTier: true,
    driven: false,
    admission: (host, tokens) => ({ placement: host.placement(host.uniformDistance(rule, tokens)), uniform: true }),
    minAdmissionGpuLayers: (layers) => layers - offloadCount(layers, 1),
    beforeDecode: (host) => {
      if (!everyStep && placedFor === host.membershipVersion) return;
      placedFor = host.membershipVersion;
      host.placeRunning(host.placement(host.uniformDistance(rule)), false);
    },
  };
}
