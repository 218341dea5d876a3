import type { ModelSpec } from '../core/model-spec.js';
import type { MonotonicMs } from '../core/solve-limit.js';
import { findModel } from '../core/model-catalogue.js';
import { CostModel } from '../cost/cost-model.js';
import type { PausePolicy, PlanRequest } from '../planner/types.js';
import { planWindow, type WindowPlan } from '../planner/window-plan.js';
import { uniformPlan } from '../planner/uniform-plan.js';
import type { Profile } from '../core/profile-format.js';
import type { BatchSolver, SolveRequest } from './types.js';

export interface SolverSetup {
  model: ModelSpec;
  profile: Profile;
  tp: number;
  /** Measures solve phases (wall clock, injected by the CLI; a worker thread uses its own). */
  clockMs?: MonotonicMs;
}

/** LP rounds a virtual-time solve may make (the ILP's work limit). */
export const WORK_LP_ROUNDS = 3;

export function costForSetup(setup: SolverSetup, computeScale: number, bandwidthScale: number): CostModel {
  return new CostModel(setup.model, setup.profile, { tp: setup.tp, computeScale, bandwidthScale, modelLookup: findModel });
}

/** Runs one solve on the calling thread (virtual time charges it a modelled latency; see solve-latency.ts). */
export async function solveOnce(setup: SolverSetup, req: SolveRequest): Promise<WindowPlan> {
  const cost = costForSetup(setup, req.computeScale, req.bandwidthScale);
  const asPlan = (r: SolveRequest['requests'][number]): PlanRequest => ({
    id: r.id,
    contextTokens: r.contextTokens,
    sloTpotMs: r.sloTpotMs,
    depositTokens: r.depositTokens,
    currentDistance: r.currentDistance,
    remainingSteps: r.remainingSteps,
    noPause: req.noPause.includes(r.id),
  });
  if (req.mode === 'uniform') {
    const plan = uniformPlan({
      cost,
      budgetBlocks: req.budgetBlocks,
      requests: req.requests.map(asPlan),
      windowSteps: req.windowSteps,
      pause: req.pause,
      pausePolicy: req.pausePolicy as PausePolicy,
      seed: req.seed,
    });
    return { plan, admit: [], holdSteps: 0, reject: [], servesDeferred: false, deferred: [], verdict: null, work: plan.certificate.work!, hitSafetyLimit: false };
  }
  return planWindow({
    cost,
    budgetBlocks: req.budgetBlocks,
    running: req.requests
      .filter((r) => !r.paused)
      .map((r) => ({ ...asPlan(r), outputTokens: r.outputTokens ?? Number.MAX_SAFE_INTEGER, generatedTokens: r.generatedTokens, decodeElapsedMs: r.decodeElapsedMs })),
    paused: req.requests.filter((r) => r.paused).map(asPlan),
    waiting: req.waiting,
    freeSeqs: req.freeSeqs,
    admission: req.admission,
    windowSteps: req.windowSteps,
    timeLimitMs: req.timeLimitMs,
    solveLimit: req.solveLimit === 'work' ? { kind: 'work', lpRounds: WORK_LP_ROUNDS } : { kind: 'wall', ms: req.timeLimitMs },
    clockMs: setup.clockMs,
    pausePolicy: req.pausePolicy as PausePolicy,
    pauseForSlo: req.pauseForSlo,
    seed: req.seed,
    sloMargin: req.sloMargin,
  });
}

export function createInlineSolver(setup: SolverSetup): BatchSolver {
  return { solve: (req) => solveOnce(setup, req) };
}
