import { findModel } from '../core/model-catalogue.js';
import type { ModelSpec } from '../core/model-spec.js';
import type { Profile } from '../core/profile-format.js';
import type { TraceRequest } from '../core/trace-request.js';
import { CostModel } from '../cost/cost-model.js';
import { comparePolicies, type PolicyRow } from '../engine/compare-policies.js';
import { driverFactory } from '../controller/variants.js';
import type { SolverLatency } from '../controller/solve-latency.js';

/** One policy on one cell of a sweep: plain data, so it crosses to a worker thread as it is. */
export interface SweepTask {
  cell: number;
  policy: string;
  model: ModelSpec;
  profile: Profile;
  tp: number;
  requests: TraceRequest[];
  budgetBlocks: number;
  hostBlocks?: number;
  maxNumSeqs: number;
  noiseCv: number;
  seed: number;
  stepOverheadMs: number;
  sloMs: number;
  windowSteps?: number;
  timeLimitMs?: number;
  pausePolicy?: string;
  solverLatency?: SolverLatency;
  /** Test hook (ORBITFLOW_TEST_SWEEP_CRASH): end the worker thread mid-task, as a crash would. */
  crash?: boolean;
}

/** Simulate one task on the virtual clock, exactly as `plan --trace` simulates one policy. */
export async function runSweepTask(t: SweepTask, clockMs: () => number): Promise<PolicyRow> {
  if (t.crash) process.exit(1);
  const cost = new CostModel(t.model, t.profile, { tp: t.tp, modelLookup: findModel });
  const result = await comparePolicies(t.requests, {
    cost,
    budgetBlocks: t.budgetBlocks,
    hostBlocks: t.hostBlocks,
    maxNumSeqs: t.maxNumSeqs,
    noiseCv: t.noiseCv,
    seed: t.seed,
    stepOverheadMs: t.stepOverheadMs,
    sloMs: t.sloMs,
    policies: [t.policy],
    driverFor: driverFactory({
      model: t.model,
      profile: t.profile,
      tp: t.tp,
      budgetBlocks: t.budgetBlocks,
      sloMs: t.sloMs,
      windowSteps: t.windowSteps,
      timeLimitMs: t.timeLimitMs,
      pausePolicy: t.pausePolicy,
      seed: t.seed,
      solverLatency: t.solverLatency,
      clockMs,
    }),
    clockMs,
  });
  return result.rows[0];
}
