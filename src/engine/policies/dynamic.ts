import { uniformRulePolicy } from './uniform-rule.js';

/** Dynamic Heuristic (the artifact's DistNSingle): capacity-fitted uniform distance, every step. */
export const dynamicPolicy = (): ReturnType<typeof uniformRulePolicy> => uniformRulePolicy('dynamic', true);
