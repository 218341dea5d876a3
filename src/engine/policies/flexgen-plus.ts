import { uniformRulePolicy } from './uniform-rule.js';

/** FlexGen+ (the artifact's Flexgen): one capacity-fitted distance for the batch, recomputed every step. */
export const flexgenPlusPolicy = (): ReturnType<typeof uniformRulePolicy> => uniformRulePolicy('flexgen-plus', true);
