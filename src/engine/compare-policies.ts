import type { CostModel } from '../cost/cost-model.js';
import { BLOCK_TOKENS, GIB } from '../core/units.js';
import { isBaselinePolicy } from '../cost/baselines.js';
import type { TraceRequest } from '../core/trace-request.js';
import { scoreSlo } from './slo-scoring.js';
import type { PlacementDriver, TimelineEntry } from './types.js';
import { runVirtual, type VirtualRunResult } from './virtual-run.js';
import { UsageRecorder, type UsageSeries } from './usage-series.js';

/** A baseline, or a name the driver factory turns into a PlacementDriver (orbitflow and its ablations). */
export type ComparedPolicy = string;

export interface ComparisonSetup {
  cost: CostModel;
  budgetBlocks: number;
  maxNumSeqs: number;
  noiseCv: number;
  seed: number;
  stepOverheadMs: number;
  hostBlocks?: number;
  /** Per-token SLO S, ms (one per run, as in the paper). */
  sloMs: number;
  policies: readonly ComparedPolicy[];
  /** Makes the placement driver of each non-baseline policy (a fresh one per run). */
  driverFor?: (policy: string) => PlacementDriver | undefined;
  recordTimeline?: boolean;
  /** Also keep each policy's GPU KV use and H2D traffic over time (the HTML report's curves). */
  recordUsage?: boolean;
  /** A monotonic ms clock to time each simulation (the CLI passes one; pure callers may omit it). */
  clockMs?: () => number;
  /** Called when a policy finishes (progress lines). */
  onPolicyDone?: (row: PolicyRow) => void;
  /** Keep going when one policy fails (its error becomes a note); default false. */
  continueOnError?: boolean;
}

/** One row of the paper's comparison table (snake_case: it is written as JSON). */
export interface PolicyRow {
  policy: ComparedPolicy;
  requests: number;
  completed: number;
  rejected: number;
  aborted: number;
  expected_tokens: number;
  decoded_tokens: number;
  tpot_attainment: number;
  tbt_attainment: number;
  tbt_attainment_td: number;
  p95_tbt_over_slo: number | null;
  p95_tbt_ms: number | null;
  /** (Σ input of completed requests + Σ decoded tokens) / makespan. */
  throughput_tok_s: number;
  output_throughput_tok_s: number;
  makespan_s: number;
  mean_ttft_ms: number;
  mean_tpot_ms: number;
  mean_gpu_kv_use: number;
  preemptions: number;
  pauses: number;
  fallbacks: number;
  replans: number;
  /** Solve latency charged to engine time (modelled by default: reproducible). */
  solver_ms_total: number;
  solver_ms_mean: number;
  solver_ms_p99: number;
  /** The controller's solve p99 over the median decode step: ≤ 1 decides within a step. */
  solve_p99_over_median_step: number | null;
  /** Wall-clock solve time on this machine (a measurement; differs run to run). */
  solver_wall_ms_total: number;
  steps: number;
  decode_steps: number;
  prefill_steps: number;
  h2d_gib: number;
  reload_gib: number;
  /** Wall-clock seconds this machine took to simulate the policy (a measurement; differs run to run). */
  simulation_wall_s: number | null;
}

export interface ComparisonResult {
  rows: PolicyRow[];
  timelines: { policy: ComparedPolicy; entries: TimelineEntry[] }[];
  /** With `recordUsage`: one series per simulated policy. */
  usage: { policy: ComparedPolicy; series: UsageSeries }[];
  notes: string[];
}

/** The paper's SLO base (method §9): all-on-GPU step time at the budget's token capacity, batch = max-num-seqs. */
export function sloBaseMs(cost: CostModel, budgetBlocks: number, maxNumSeqs: number): number {
  const capacityTokens = Math.floor(budgetBlocks / cost.layers) * BLOCK_TOKENS;
  return cost.allOnGpuStepMs(maxNumSeqs, capacityTokens);
}

export function rowFromRun(policy: ComparedPolicy, run: VirtualRunResult, sloMs: number, simulationS: number | null): PolicyRow {
  const score = scoreSlo(run.requests, sloMs);
  let completed = 0;
  let rejected = 0;
  let aborted = 0;
  let inputDone = 0;
  let decoded = 0;
  let ttftSum = 0;
  let ttftN = 0;
  let tpotSum = 0;
  let tpotN = 0;
  for (const r of run.requests) {
    decoded += r.decodedTokens;
    if (r.finishReason === 'length') {
      completed++;
      inputDone += r.inputTokens;
    } else if (r.finishReason === 'rejected') rejected++;
    else if (r.finishReason === 'abort') aborted++;
    if (r.decodedTokens > 0) {
      ttftSum += r.tokenTimesMs[0] - r.arrivalMs;
      ttftN++;
    }
    if (r.decodedTokens > 1) {
      tpotSum += (r.tokenTimesMs[r.decodedTokens - 1] - r.tokenTimesMs[0]) / (r.decodedTokens - 1);
      tpotN++;
    }
  }
  const makespanS = run.makespanMs / 1000;
  const replans = run.driver?.replans ?? 0;
  const solverMs = run.driver?.solveMs ?? 0;
  return {
    policy,
    requests: run.requests.length,
    completed,
    rejected,
    aborted,
    expected_tokens: score.expectedTokens,
    decoded_tokens: decoded,
    tpot_attainment: score.tpotAttainment,
    tbt_attainment: score.tbtAttainment,
    tbt_attainment_td: score.tbtAttainmentTd,
    p95_tbt_over_slo: score.p95TbtOverSlo,
    p95_tbt_ms: score.p95TbtMs,
    throughput_tok_s: makespanS > 0 ? (inputDone + decoded) / makespanS : 0,
    output_throughput_tok_s: makespanS > 0 ? decoded / makespanS : 0,
    makespan_s: makespanS,
    mean_ttft_ms: ttftN > 0 ? ttftSum / ttftN : 0,
    mean_tpot_ms: tpotN > 0 ? tpotSum / tpotN : 0,
    mean_gpu_kv_use: run.meanGpuKvUse,
    preemptions: run.counters.preemptions,
    pauses: run.counters.pauses,
    fallbacks: run.counters.fallbacks,
    replans,
    solver_ms_total: solverMs,
    solver_ms_mean: replans > 0 ? solverMs / replans : 0,
    solver_ms_p99: run.driver?.solveP99Ms ?? 0,
    solve_p99_over_median_step: run.driver && run.driver.medianStepMs > 0 ? run.driver.solveP99Ms / run.driver.medianStepMs : null,
    solver_wall_ms_total: run.driver?.solveWallMs ?? 0,
    steps: run.counters.steps,
    decode_steps: run.counters.decodeSteps,
    prefill_steps: run.counters.prefillSteps,
    h2d_gib: run.counters.bytesFetched / GIB,
    reload_gib: run.counters.bytesReloaded / GIB,
    simulation_wall_s: simulationS,
  };
}

/** Simulate the same requests under each policy on the virtual clock and score them alike. */
export async function comparePolicies(trace: readonly TraceRequest[], s: ComparisonSetup): Promise<ComparisonResult> {
  const rows: PolicyRow[] = [];
  const timelines: ComparisonResult['timelines'] = [];
  const usage: ComparisonResult['usage'] = [];
  const notes: string[] = [];
  for (const policy of s.policies) {
    const t0 = s.clockMs?.();
    let run: VirtualRunResult;
    const recorder = s.recordUsage ? new UsageRecorder(s.budgetBlocks) : null;
    try {
      const baseline = isBaselinePolicy(policy);
      const driver = baseline ? undefined : s.driverFor?.(policy);
      if (!baseline && !driver) throw new Error(`no placement driver for policy '${policy}'`);
      run = await runVirtual(trace, {
        cost: s.cost,
        policy: baseline ? policy : 'orbitflow',
        budgetBlocks: s.budgetBlocks,
        hostBlocks: s.hostBlocks,
        maxNumSeqs: s.maxNumSeqs,
        noiseCv: s.noiseCv,
        seed: s.seed,
        stepOverheadMs: s.stepOverheadMs,
        recordTimeline: s.recordTimeline,
      }, { driver, onStep: recorder ? (b) => recorder.onStep(b) : undefined });
    } catch (e) {
      if (!s.continueOnError) throw e;
      notes.push(`${policy}: not simulated (${(e as Error).message})`);
      continue;
    }
    const simS = t0 !== undefined && s.clockMs ? (s.clockMs() - t0) / 1000 : null;
    const row = rowFromRun(policy, run, s.sloMs, simS);
    rows.push(row);
    if (s.recordTimeline) timelines.push({ policy, entries: run.timeline });
    if (recorder) usage.push({ policy, series: recorder.series() });
    s.onPolicyDone?.(row);
  }
  return { rows, timelines, usage, notes };
}
