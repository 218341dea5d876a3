import type { BatchPlan, PlanInput } from './types.js';

// Interface placeholder; the planner issue implements the ILP + heuristic + Pause-Resume here.
export async function planBatch(_input: PlanInput): Promise<BatchPlan> {
  throw new Error('planner not built yet');
}
