import { usageError } from '../core/errors.js';
import type { PlanCliOptions } from './plan-options.js';
import { findModel, resolveModel } from '../core/model-catalogue.js';
import type { ModelSpec } from '../core/model-spec.js';
import { CostModel } from '../cost/cost-model.js';
import { BASELINE_POLICIES, isBaselinePolicy } from '../cost/baselines.js';
import type { ComparedPolicy } from '../engine/compare-policies.js';
import { ENGINE_DEFAULTS } from '../engine/engine-core.js';
import { ABLATION_LADDER, isControllerVariant } from '../controller/variants.js';
import type { SolverLatency } from '../controller/solve-latency.js';
import type { PausePolicy } from '../planner/types.js';
import { loadProfile, type LoadedProfile } from '../profile/load.js';
import { EMBEDDED_DEFAULTS, shippedProfile } from './replay-engine.js';
import { FITTED_STEP_OVERHEAD_MS } from '../core/profile-format.js';
import { traceOptionsFrom, type TraceOptions } from './trace-options.js';

/** The SLO scale used when neither --tpot-slo-ms nor --slo-scale is given: the middle of the paper's 1 / 1.5 / 2.5. */
export const DEFAULT_SLO_SCALE = 1.5;

/** `--policy`: orbitflow, all, ablation, a controller variant or a baseline, comma-separated; duplicates dropped. */
export function parseTracePolicies(policyOpt: string): ComparedPolicy[] {
  const policies: ComparedPolicy[] = [];
  for (const p of policyOpt.split(',').map((x) => x.trim())) {
    if (p === 'all') policies.push('orbitflow', ...BASELINE_POLICIES);
    else if (p === 'ablation') policies.push(...ABLATION_LADDER);
    else if (isControllerVariant(p) || isBaselinePolicy(p)) policies.push(p);
    else throw usageError('--policy', `expected orbitflow, all, ablation, ${ABLATION_LADDER.filter((v) => v !== 'orbitflow').join(', ')} or one of ${BASELINE_POLICIES.join(', ')} (comma-separated); got '${p}'`);
  }
  return [...new Set(policies)];
}

/**
 * What `plan --trace` and `plan --trace --sweep` read from the command line, checked, before any
 * trace is opened: the model and profile, the simulated engine, the policies, the SLO inputs.
 * The GPU KV budget is left to the caller (a sweep may sweep it).
 */
export interface PlanTraceSetup {
  model: ModelSpec;
  loaded: LoadedProfile;
  tp: number;
  cost: CostModel;
  gpuKvBlocks?: number;
  gpuKvGib?: number;
  maxNumSeqs: number;
  noiseCv: number;
  stepOverheadMs: number;
  hostKvGib?: number;
  seed: number;
  policies: ComparedPolicy[];
  tpotSloMs?: number;
  sloScale: number;
  pausePolicy: PausePolicy;
  windowSteps: number;
  timeLimitMs: number;
  solverLatency: SolverLatency;
  traceOpts: TraceOptions;
}

export function readPlanTraceSetup(opts: PlanCliOptions): PlanTraceSetup {
  if (opts.trace === undefined) throw usageError('--trace', 'a trace file is required');
  const model = resolveModel({ model: opts.model, modelConfig: opts.modelConfig });
  const loaded = loadProfile(opts.profile ?? shippedProfile(EMBEDDED_DEFAULTS.profile, '--profile'));
  const cost = new CostModel(model, loaded.profile, { tp: opts.tp, modelLookup: findModel });
  return {
    model,
    loaded,
    tp: opts.tp,
    cost,
    gpuKvBlocks: opts.gpuKvBlocks,
    gpuKvGib: opts.gpuKvGib,
    maxNumSeqs: opts.maxNumSeqs ?? ENGINE_DEFAULTS.maxNumSeqs,
    noiseCv: opts.noiseCv ?? ENGINE_DEFAULTS.noiseCv,
    stepOverheadMs: opts.stepOverheadMs ?? (loaded.profile.provenance.kind === 'fitted' ? FITTED_STEP_OVERHEAD_MS : ENGINE_DEFAULTS.stepOverheadMs),
    hostKvGib: opts.hostKvGib,
    seed: opts.seed,
    policies: parseTracePolicies(opts.policy),
    tpotSloMs: opts.tpotSloMs,
    sloScale: opts.sloScale ?? DEFAULT_SLO_SCALE,
    pausePolicy: opts.pausePolicy,
    windowSteps: opts.windowSteps,
    timeLimitMs: opts.timeLimitMs,
    solverLatency: opts.solverLatency,
    traceOpts: traceOptionsFrom(opts),
  };
}
