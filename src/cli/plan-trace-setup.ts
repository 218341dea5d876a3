import { usageError } from '../core/errors.js';
import { findModel, resolveModel } from '../core/model-catalogue.js';
import type { ModelSpec } from '../core/model-spec.js';
import { CostModel } from '../cost/cost-model.js';
import { BASELINE_POLICIES, isBaselinePolicy } from '../cost/baselines.js';
import type { ComparedPolicy } from '../engine/compare-policies.js';
import { ENGINE_DEFAULTS } from '../engine/engine-core.js';
import { ABLATION_LADDER, isControllerVariant } from '../controller/variants.js';
import type { SolverLatency } from '../controller/solve-latency.js';
import { PAUSE_POLICIES } from '../planner/types.js';
import { loadProfile, type LoadedProfile } from '../profile/load.js';
import { EMBEDDED_DEFAULTS, shippedProfile } from './replay-engine.js';
import { FITTED_STEP_OVERHEAD_MS } from '../core/profile-format.js';
import { traceOptionsFrom, type TraceOptions } from './trace-options.js';

/** The SLO scale used when neither --tpot-slo-ms nor --slo-scale is given: the middle of the paper's 1 / 1.5 / 2.5. */
export const DEFAULT_SLO_SCALE = 1.5;

/** A commander option value as a number, or a usage error naming the flag. */
export function numOption(o: Record<string, unknown>, key: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw usageError(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, `expected a number, got '${String(v)}'`);
  return n;
}

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
  pausePolicy?: string;
  windowSteps?: number;
  timeLimitMs?: number;
  solverLatency?: SolverLatency;
  traceOpts: TraceOptions;
}

export function readPlanTraceSetup(opts: Record<string, unknown>): PlanTraceSetup {
  if (typeof opts.trace !== 'string') throw usageError('--trace', 'a trace file is required');
  const model = resolveModel({ model: opts.model as string | undefined, modelConfig: opts.modelConfig as string | undefined });
  const loaded = loadProfile(typeof opts.profile === 'string' ? opts.profile : shippedProfile(EMBEDDED_DEFAULTS.profile, '--profile'));
  const tp = numOption(opts, 'tp') ?? 1;
  const cost = new CostModel(model, loaded.profile, { tp, modelLookup: findModel });
  const maxNumSeqs = numOption(opts, 'maxNumSeqs') ?? ENGINE_DEFAULTS.maxNumSeqs;
  if (!Number.isInteger(maxNumSeqs) || maxNumSeqs < 1) throw usageError('--max-num-seqs', `expected a positive integer, got ${maxNumSeqs}`);
  const noiseCv = numOption(opts, 'noiseCv') ?? ENGINE_DEFAULTS.noiseCv;
  if (noiseCv < 0) throw usageError('--noise-cv', 'must be ≥ 0');
  const stepOverheadMs = numOption(opts, 'stepOverheadMs') ?? (loaded.profile.provenance.kind === 'fitted' ? FITTED_STEP_OVERHEAD_MS : ENGINE_DEFAULTS.stepOverheadMs);
  const tpotSloMs = numOption(opts, 'tpotSloMs');
  const sloScale = numOption(opts, 'sloScale') ?? DEFAULT_SLO_SCALE;
  if (tpotSloMs !== undefined && tpotSloMs <= 0) throw usageError('--tpot-slo-ms', 'must be > 0');
  if (sloScale <= 0) throw usageError('--slo-scale', 'must be > 0');
  const pausePolicy = opts.pausePolicy as string | undefined;
  if (pausePolicy !== undefined && !(PAUSE_POLICIES as readonly string[]).includes(pausePolicy)) {
    throw usageError('--pause-policy', `expected one of ${PAUSE_POLICIES.join(', ')}; got '${pausePolicy}'`);
  }
  return {
    model,
    loaded,
    tp,
    cost,
    gpuKvBlocks: numOption(opts, 'gpuKvBlocks'),
    gpuKvGib: numOption(opts, 'gpuKvGib'),
    maxNumSeqs,
    noiseCv,
    stepOverheadMs,
    hostKvGib: numOption(opts, 'hostKvGib'),
    seed: numOption(opts, 'seed') ?? 0,
    policies: parseTracePolicies((opts.policy as string | undefined) ?? 'all'),
    tpotSloMs,
    sloScale,
    pausePolicy,
    windowSteps: numOption(opts, 'windowSteps'),
    timeLimitMs: numOption(opts, 'timeLimitMs'),
    solverLatency: opts.solverLatency as SolverLatency | undefined,
    traceOpts: traceOptionsFrom(opts),
  };
}
