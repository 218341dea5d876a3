import { writeFileSync } from 'node:fs';
import { prepareOutputDir } from '../core/output-files.js';
import { join, resolve } from 'node:path';
import { OrbitflowError, usageError } from '../core/errors.js';
import { GIB } from '../core/units.js';
import { comparePolicies, sloBaseMs } from '../engine/compare-policies.js';
import { ABLATION_LADDER, driverFactory } from '../controller/variants.js';
import { describeSolverLatency, type SolverLatency } from '../controller/solve-latency.js';
import { provenanceLine } from '../core/profile-format.js';
import { openTrace } from '../trace/open.js';
import type { TraceRequest } from '../core/trace-request.js';
import { err, out, type CliContext } from './context.js';
import { renderPolicyTable } from '../ui/policy-table.js';
import { buildTraceReport } from '../report/trace-report.js';
import { reportTargets, writeReports } from './report-output.js';
import { readPlanTraceSetup } from './plan-trace-setup.js';
import type { PlanCliOptions } from './plan-options.js';

/**
 * `plan --trace FILE`: simulate the trace on the reference engine in virtual time under each
 * policy and print the paper's comparison table (TPOT / TBT attainment with and without
 * Token-Deposit, P95 TBT over the SLO, throughput, GPU KV use, preemptions, pauses, re-plans).
 * plan.ts calls it with commander's parsed options.
 */
export async function runPlanTrace(opts: PlanCliOptions, ctx: CliContext): Promise<void> {
  const setup = readPlanTraceSetup(opts);
  const traceFile = opts.trace!;
  const { model, loaded, tp, cost, gpuKvBlocks, gpuKvGib, maxNumSeqs, noiseCv, stepOverheadMs, hostKvGib, seed, policies, tpotSloMs, sloScale, pausePolicy, traceOpts } = setup;
  if (gpuKvBlocks === undefined && gpuKvGib === undefined) throw usageError('--gpu-kv-gib', 'a GPU KV budget is required (--gpu-kv-gib or --gpu-kv-blocks)');
  const budgetBlocks = gpuKvBlocks !== undefined ? Math.floor(gpuKvBlocks) : cost.budgetBlocksFromGiB(gpuKvGib!);
  if (budgetBlocks <= 0) throw usageError(gpuKvBlocks !== undefined ? '--gpu-kv-blocks' : '--gpu-kv-gib', 'the budget must hold at least one block');
  const base = sloBaseMs(cost, budgetBlocks, maxNumSeqs);
  const sloMs = tpotSloMs ?? sloScale * base;
  const sloSource = tpotSloMs !== undefined ? '--tpot-slo-ms' : `${sloScale} × all-on-GPU step at the budget's token capacity (${base.toFixed(2)} ms, batch ${maxNumSeqs})`;

  const opened = openTrace(traceFile, traceOpts);
  const requests: TraceRequest[] = [];
  for await (const r of opened.requests()) requests.push(r);
  const readStats = opened.stats();
  if (requests.length === 0) throw new OrbitflowError('OF_PLAN_TRACE_EMPTY', `${traceFile}: no requests (after window/limit/filters)`, { context: { file: traceFile } });

  const outDir = opts.out !== undefined ? resolve(ctx.cwd, opts.out) : undefined;
  // Checked and created before the simulation, so a bad --out never costs a run.
  if (outDir) prepareOutputDir(outDir, '--out');
  const reports = reportTargets(opts.report, outDir);
  const json = opts.json;
  const progress = (line: string): void => err(ctx, line);
  if (!json) out(ctx, provenanceLine(loaded.profile));
  progress(`simulating ${requests.length} requests of ${traceFile} under ${policies.join(', ')} (virtual time)`);
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
      windowSteps: setup.windowSteps,
      timeLimitMs: setup.timeLimitMs,
      pausePolicy,
      seed,
      solverLatency: setup.solverLatency,
      clockMs: ctx.clockMs,
    }),
    recordTimeline: outDir !== undefined,
    recordUsage: reports.length > 0,
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
    writeFileSync(join(outDir, 'comparison.json'), `${JSON.stringify(comparison, null, 2)}\n`);
    const lines: string[] = [];
    for (const t of result.timelines) {
      for (const e of t.entries) lines.push(JSON.stringify({ policy: t.policy, step: e.step, time_ms: e.timeMs, source: e.source, placements: e.placements, pause: e.pause, resume: e.resume, ...(e.note ? { note: e.note } : {}) }));
    }
    writeFileSync(join(outDir, 'placements.jsonl'), lines.length > 0 ? `${lines.join('\n')}\n` : '');
    progress(`wrote ${join(outDir, 'comparison.json')} and ${join(outDir, 'placements.jsonl')} (${lines.length} plans)`);
  }
  const ladder = String(opts.policy ?? '').split(',').some((p) => p.trim() === 'ablation') ? ABLATION_LADDER : undefined;
  await writeReports(ctx, reports, () => buildTraceReport({ comparison, usage: result.usage, ladder, command: ['orbitflow', ...ctx.argv.slice(2)] }));
  if (json) {
    out(ctx, JSON.stringify(comparison, null, 2));
    return;
  }
  out(ctx, `trace ${traceFile}: ${requests.length} requests; model ${model.id}; GPU KV ${budgetBlocks} blocks (${comparison.engine.budget_gib.toFixed(2)} GiB); max-num-seqs ${maxNumSeqs}; noise CV ${noiseCv}; seed ${seed}`);
  out(ctx, `SLO S = ${sloMs.toFixed(2)} ms/token (${sloSource})`);
  out(ctx, renderPolicyTable(result.rows));
}
