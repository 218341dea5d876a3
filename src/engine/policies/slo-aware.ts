import { uniformRulePolicy } from './uniform-rule.js';

/** SLO-aware Offloading (the artifact's SelectN): distance from the profiled compute/transfer ratio, recomputed when the batch changes. */
export const sloAwarePolicy = (): ReturnType<typeof uniformRulePolicy> => uniformRulePolicy('slo-aware', false);
