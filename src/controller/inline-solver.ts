import type { ModelSpec } from '../core/model-spec.js';
import { findModel } from '../core/model-catalogue.js';
import { CostModel } from '../cost/cost-model.js';
import { planBatch } from '../planner/plan-batch.js';
import type { BatchPlan, PausePolicy } from '../planner/types.js';
import { uniformPlan } from '../planner/uniform-plan.js';
import type { Profile } from '../profile/format.js';
import type { BatchSolver, SolveRequest } from './types.js';

export interface SolverSetup {
  model: ModelSpec;
  profile: Profile;
  tp: number;
}

export function costForSetup(setup: SolverSetup, computeScale: number, bandwidthScale: number): CostModel {
  return new CostModel(setup.model, setup.profile, { tp: setup.tp, computeScale, bandwidthScale, modelLookup: findModel });
}

/** Runs one solve on the calling thread (virtual time: the solve's wall time is charged as latency). */
export async function solveOnce(setup: SolverSetup, req: SolveRequest): Promise<BatchPlan> {
  const cost = costForSetup(setup, req.computeScale, req.bandwidthScale);
  const requests = req.requests.map((r) => ({ ...r, noPause: req.noPause.includes(r.id) }));
  if (req.mode === 'uniform') {
    return uniformPlan({
      cost,
      budgetBlocks: req.budgetBlocks,
      requests,
      windowSteps: req.windowSteps,
      pause: req.pause,
      pausePolicy: req.pausePolicy as PausePolicy,
      seed: req.seed,
    });
  }
  return planBatch({
    cost,
    budgetBlocks: req.budgetBlocks,
    requests,
    windowSteps: req.windowSteps,
    timeLimitMs: req.timeLimitMs,
    pausePolicy: req.pausePolicy as PausePolicy,
    pauseForSlo: req.pauseForSlo,
    seed: req.seed,
  });
}

export function createInlineSolver(setup: SolverSetup): BatchSolver {
  return { solve: (req) => solveOnce(setup, req) };
}
