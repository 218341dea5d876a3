import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { OrbitflowError, usageError } from '../core/errors.js';
import { findModel, resolveModel } from '../core/model-catalogue.js';
import { GIB } from '../core/units.js';
import { CostModel } from '../cost/cost-model.js';
import { comparePolicies, sloBaseMs, type ComparedPolicy, type PolicyRow } from '../engine/compare-policies.js';
import { ENGINE_DEFAULTS } from '../engine/engine-core.js';
import { BASELINE_POLICIES, isBaselinePolicy } from '../cost/baselines.js';
import { ABLATION_LADDER, driverFactory, isControllerVariant } from '../controller/variants.js';
import { describeSolverLatency, type SolverLatency } from '../controller/solve-latency.js';
import { PAUSE_POLICIES } from '../planner/types.js';
import { loadProfile } from '../profile/load.js';
import { FITTED_STEP_OVERHEAD_MS, provenanceLine } from '../core/profile-format.js';
import { openTrace } from '../trace/open.js';
import type { TraceRequest } from '../core/trace-request.js';
import { err, out, type CliContext } from './context.js';
import { traceOptionsFrom } from './trace-options.js';

/** The SLO scale used when neither --tpot-slo-ms nor --slo-scale is given: the middle of the paper's 1 / 1.5 / 2.5. */
export const DEFAULT_SLO_SCALE = 1.5;

function num(o: Record<string, unknown>, key: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw usageError(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, `expected a number, got '${String(v)}'`);
  return n;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function renderTable(rows: readonly PolicyRow[]): string {
  const head = ['policy', 'TPOT att', 'TBT att', 'TBT att TD', 'P95 TBT/S', 'tok/s', 'out tok/s', 'makespan s', 'GPU KV', 'preempt', 'pauses', 'replans', 'solver ms', 'solve p99/step'];
  const body = rows.map((r) => [
    r.policy,
    pct(r.tpot_attainment),
    pct(r.tbt_attainment),
    pct(r.tbt_attainment_td),
    r.p95_tbt_over_slo === null ? 'n/a' : r.p95_tbt_over_slo.toFixed(2),
    r.throughput_tok_s.toFixed(0),
    r.output_throughput_tok_s.toFixed(1),
    r.makespan_s.toFixed(0),
    pct(r.mean_gpu_kv_use),
    String(r.preemptions),
    String(r.pauses),
    String(r.replans),
    r.solver_ms_total.toFixed(0),
    r.solve_p99_over_median_step === null ? '–' : r.solve_p99_over_median_step.toFixed(3),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

/**
 * `plan --trace FILE`: simulate the trace on the reference engine in virtual time under each
 * policy and print the paper's comparison table (TPOT / TBT attainment with and without
 * Token-Deposit, P95 TBT over the SLO, throughput, GPU KV use, preemptions, pauses, re-plans).
 * plan.ts calls it with commander's parsed options.
 */
export async function runPlanTrace(opts: Record<string, unknown>, ctx: CliContext): Promise<void> {
  const traceFile = opts.trace;
  if (typeof traceFile !== 'string') throw usageError('--trace', 'a trace file is required');
  if (typeof opts.profile !== 'string') throw usageError('--profile', 'a profile file is required with --trace');
  const model = resolveModel({ model: opts.model as string | undefined, modelConfig: opts.modelConfig as string | undefined });
  const loaded = loadProfile(opts.profile);
  const tp = num(opts, 'tp') ?? 1;
  const cost = new CostModel(model, loaded.profile, { tp, modelLookup: findModel });
  const gpuKvBlocks = num(opts, 'gpuKvBlocks');
  const gpuKvGib = num(opts, 'gpuKvGib');
  if (gpuKvBlocks === undefined && gpuKvGib === undefined) throw usageError('--gpu-kv-gib', 'a GPU KV budget is required (--gpu-kv-gib or --gpu-kv-blocks)');
  const budgetBlocks = gpuKvBlocks !== undefined ? Math.floor(gpuKvBlocks) : cost.budgetBlocksFromGiB(gpuKvGib!);
  if (budgetBlocks <= 0) throw usageError(gpuKvBlocks !== undefined ? '--gpu-kv-blocks' : '--gpu-kv-gib', 'the budget must hold at least one block');
  const maxNumSeqs = num(opts, 'maxNumSeqs') ?? ENGINE_DEFAULTS.maxNumSeqs;
  if (!Number.isInteger(maxNumSeqs) || maxNumSeqs < 1) throw usageError('--max-num-seqs', `expected a positive integer, got ${maxNumSeqs}`);
  const noiseCv = num(opts, 'noiseCv') ?? ENGINE_DEFAULTS.noiseCv;
  if (noiseCv < 0) throw usageError('--noise-cv', 'must be ≥ 0');
  const stepOverheadMs = num(opts, 'stepOverheadMs') ?? (loaded.profile.provenance.kind === 'fitted' ? FITTED_STEP_OVERHEAD_MS : ENGINE_DEFAULTS.stepOverheadMs);
  const hostKvGib = num(opts, 'hostKvGib');
  const seed = num(opts, 'seed') ?? 0;

  const policyOpt = (opts.policy as string | undefined) ?? 'all';
  const policies: ComparedPolicy[] = [];
  for (const p of policyOpt.split(',').map((x) => x.trim())) {
    if (p === 'all') policies.push('orbitflow', ...BASELINE_POLICIES);
    else if (p === 'ablation') policies.push(...ABLATION_LADDER);
    else if (isControllerVariant(p) || isBaselinePolicy(p)) policies.push(p);
    else throw usageError('--policy', `expected orbitflow, all, ablation, ${ABLATION_LADDER.filter((v) => v !== 'orbitflow').join(', ')} or one of ${BASELINE_POLICIES.join(', ')} (comma-separated); got '${p}'`);
  }
  const base = sloBaseMs(cost, budgetBlocks, maxNumSeqs);
  const tpotSloMs = num(opts, 'tpotSloMs');
  const sloScale = num(opts, 'sloScale') ?? DEFAULT_SLO_SCALE;
  if (tpotSloMs !== undefined && tpotSloMs <= 0) throw usageError('--tpot-slo-ms', 'must be > 0');
  if (sloScale <= 0) throw usageError('--slo-scale', 'must be > 0');
  const sloMs = tpotSloMs ?? sloScale * base;
  const sloSource = tpotSloMs !== undefined ? '--tpot-slo-ms' : `${sloScale} × all-on-GPU step at the budget's token capacity (${base.toFixed(2)} ms, batch ${maxNumSeqs})`;

  const pausePolicy = opts.pausePolicy as string | undefined;
  if (pausePolicy !== undefined && !(PAUSE_POLICIES as readonly string[]).includes(pausePolicy)) {
    throw usageError('--pause-policy', `expected one of ${PAUSE_POLICIES.join(', ')}; got '${pausePolicy}'`);
  }

  const traceOpts = traceOptionsFrom(opts);
  const opened = openTrace(traceFile, traceOpts);
  const requests: TraceRequest[] = [];
  for await (const r of opened.requests()) requests.push(r);
  const readStats = opened.stats();
  if (requests.length === 0) throw new OrbitflowError('OF_PLAN_TRACE_EMPTY', `${traceFile}: no requests (after window/limit/filters)`, { context: { file: traceFile } });

  const json = Boolean(opts.json);
  const progress = (line: string): void => err(ctx, line);
  if (!json) out(ctx, provenanceLine(loaded.profile));
  progress(`simulating ${requests.length} requests of ${traceFile} under ${policies.join(', ')} (virtual time)`);
  const outDir = typeof opts.out === 'string' ? resolve(ctx.cwd, opts.out) : undefined;
  const result = await comparePolicies(requests, {
    cost,
    budgetBlocks,
    maxNumSeqs,
    noiseCv,
    seed,
    stepOverheadMs,
    hostBlocks: hostKvGib !== undefined ? cost.budgetBlocksFromGiB(hostKvGib) : undefined,
    sloMs,
    policies: [...new Set(policies)],
    driverFor: driverFactory({
      model,
      profile: loaded.profile,
      tp,
      budgetBlocks,
      sloMs,
      windowSteps: num(opts, 'windowSteps'),
      timeLimitMs: num(opts, 'timeLimitMs'),
      pausePolicy,
      seed,
      solverLatency: opts.solverLatency as SolverLatency | undefined,
      clockMs: ctx.clockMs,
    }),
    recordTimeline: outDir !== undefined,
    clockMs: ctx.clockMs,
    continueOnError: policies.length > 1,
    onPolicyDone: (r) => progress(`  ${r.policy}: ${r.completed}/${r.requests} completed, ${r.steps} steps, ${r.simulation_wall_s?.toFixed(2)} s`),
  });
  for (const n of result.notes) progress(`note: ${n}`);
  if (result.rows.length === 0) throw new OrbitflowError('OF_PLAN_TRACE_FAILED', `internal error, please report it: no policy could be simulated: ${result.notes.join('; ')}`);

  const comparison = {
    schema: 'orbitflow.comparison/v1',
    model: model.id,
    tp,
    profile: { id: loaded.profile.id, file: loaded.file, sha256: loaded.sha256, provenance: provenanceLine(loaded.profile) },
    trace: {
      file: traceFile,
      format: opened.format,
      requests: requests.length,
      input_tokens: requests.reduce((s, r) => s + r.inputTokens, 0),
      output_tokens: requests.reduce((s, r) => s + r.outputTokens, 0),
      rows_skipped: readStats.rowsSkipped,
      warnings: readStats.warnings,
    },
    engine: {
      budget_blocks: budgetBlocks,
      budget_gib: (budgetBlocks * cost.blockBytes) / GIB,
      max_num_seqs: maxNumSeqs,
      noise_cv: noiseCv,
      step_overhead_ms: stepOverheadMs,
      seed,
    },
    slo_ms: sloMs,
    slo_source: sloSource,
    solver_latency: describeSolverLatency((opts.solverLatency as SolverLatency | undefined) ?? { mode: 'model' }),
    // Fields that measure this machine (they differ run to run); everything else is a function of the inputs.
    wall_clock_fields: (opts.solverLatency as SolverLatency | undefined)?.mode === 'measured'
      ? ['simulation_wall_s', 'solver_wall_ms_total', 'solver_ms_total', 'solver_ms_mean', 'solver_ms_p99', 'solve_p99_over_median_step', '(with measured latency, every simulated figure)']
      : ['simulation_wall_s', 'solver_wall_ms_total'],
    scoring: 'TPOT: share of requests with mean decode gap ≤ S; TBT: 1 − violations / expected tokens, plain (gap > S) and with Token-Deposit (method §7.2); P95: sorted gaps at ⌊0.95·expected tokens⌋ over S',
    rows: result.rows,
    notes: result.notes,
  };
  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'comparison.json'), `${JSON.stringify(comparison, null, 2)}\n`);
    const lines: string[] = [];
    for (const t of result.timelines) {
      for (const e of t.entries) lines.push(JSON.stringify({ policy: t.policy, step: e.step, time_ms: e.timeMs, source: e.source, placements: e.placements, pause: e.pause, resume: e.resume, ...(e.note ? { note: e.note } : {}) }));
    }
    writeFileSync(join(outDir, 'placements.jsonl'), lines.length > 0 ? `${lines.join('\n')}\n` : '');
    progress(`wrote ${join(outDir, 'comparison.json')} and ${join(outDir, 'placements.jsonl')} (${lines.length} plans)`);
  }
  if (json) {
    out(ctx, JSON.stringify(comparison, null, 2));
    return;
  }
  out(ctx, `trace ${traceFile}: ${requests.length} requests; model ${model.id}; GPU KV ${budgetBlocks} blocks (${comparison.engine.budget_gib.toFixed(2)} GiB); max-num-seqs ${maxNumSeqs}; noise CV ${noiseCv}; seed ${seed}`);
  out(ctx, `SLO S = ${sloMs.toFixed(2)} ms/token (${sloSource})`);
  out(ctx, renderTable(result.rows));
}
