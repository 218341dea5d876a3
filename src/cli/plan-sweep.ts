import { setMaxListeners } from 'node:events';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Piscina } from 'piscina';
import { ExitCode, OrbitflowError, usageError } from '../core/errors.js';
import { prepareOutputDir, writeFileAtomic } from '../core/output-files.js';
import { provenanceLine } from '../core/profile-format.js';
import type { TraceRequest } from '../core/trace-request.js';
import { GIB } from '../core/units.js';
import { VERSION } from '../core/version.js';
import { isBaselinePolicy } from '../cost/baselines.js';
import { describeSolverLatency } from '../controller/solve-latency.js';
import { sloBaseMs, type PolicyRow } from '../engine/compare-policies.js';
import { describePoint, gridPoints, type SweepAxis, type SweepKey } from '../engine/sweep-axes.js';
import { buildSweepReport, type SweepCell, type SweepHeader, type SweepReport } from '../engine/sweep-report.js';
import { openTrace } from '../trace/open.js';
import { renderSweep } from '../ui/sweep-table.js';
import { buildSweepPage } from '../report/sweep-page.js';
import { reportTargets, writeReports } from './report-output.js';
import { sweepBar, sweepLine } from '../ui/sweep-progress.js';
import { err, out, type CliContext } from './context.js';
import { readPlanTraceSetup, type PlanTraceSetup } from './plan-trace-setup.js';
import { parseSweeps, parseTarget } from './sweep-options.js';
import type { GivenOnCommandLine, PlanCliOptions } from './plan-options.js';
import type { SweepTask } from './sweep-task.js';

/**
 * The budget the SLO's base is taken at when gpu-kv-gib is swept (S = scale × the all-on-GPU step
 * at this budget's token capacity): the budget of the published comparison (BENCHMARKS.md), so the
 * answer to "how much memory meets S" never depends on the range swept. --tpot-slo-ms sets S itself.
 */
export const SWEEP_SLO_REFERENCE_GIB = 4;

/** The file `--out DIR` gets. */
export const SWEEP_OUTPUT_FILE = 'sweep.json';

/** The flag each sweep key stands for (a swept key must not also be given as its flag). */
const FLAG_OF: Record<SweepKey, { option: keyof PlanCliOptions; flag: string }[]> = {
  'gpu-kv-gib': [{ option: 'gpuKvGib', flag: '--gpu-kv-gib' }, { option: 'gpuKvBlocks', flag: '--gpu-kv-blocks' }],
  'max-num-seqs': [{ option: 'maxNumSeqs', flag: '--max-num-seqs' }],
  'slo-scale': [{ option: 'sloScale', flag: '--slo-scale' }, { option: 'tpotSloMs', flag: '--tpot-slo-ms' }],
  'rate-scale': [{ option: 'rateScale', flag: '--rate-scale' }],
};

interface Plan {
  setup: PlanTraceSetup;
  axes: SweepAxis[];
  target: ReturnType<typeof parseTarget> | null;
  jobs: number;
  cells: SweepCell[];
  tasks: SweepTask[];
  header: SweepHeader;
}

async function readRequests(file: string, setup: PlanTraceSetup, rateScale: number): Promise<{ requests: TraceRequest[]; format: string; rowsSkipped: number; warnings: string[] }> {
  const opened = openTrace(file, { ...setup.traceOpts, rateScale });
  const requests: TraceRequest[] = [];
  for await (const r of opened.requests()) requests.push(r);
  if (requests.length === 0) throw new OrbitflowError('OF_PLAN_TRACE_EMPTY', `${file}: no requests (after window/limit/filters${rateScale !== 1 ? `, rate-scale ${rateScale}` : ''})`, { context: { file } });
  const s = opened.stats();
  return { requests, format: opened.format, rowsSkipped: s.rowsSkipped, warnings: s.warnings };
}

/** Every check and every input read before the first simulation starts: bad input exits 2 here. */
async function planSweep(opts: PlanCliOptions, ctx: CliContext, given: GivenOnCommandLine): Promise<Plan> {
  const axes = parseSweeps(opts.sweep ?? []);
  const target = opts.target !== undefined ? parseTarget(opts.target) : null;
  const jobs = opts.jobs ?? availableParallelism();
  for (const a of axes) {
    for (const f of FLAG_OF[a.key]) if (given(f.option)) throw usageError('--sweep', `${a.key} is swept; drop ${f.flag}`);
  }
  const setup = readPlanTraceSetup(opts);
  const { cost } = setup;
  const axisOf = (k: SweepKey): SweepAxis | undefined => axes.find((a) => a.key === k);
  const kvAxis = axisOf('gpu-kv-gib');
  if (!kvAxis && setup.gpuKvBlocks === undefined && setup.gpuKvGib === undefined) throw usageError('--gpu-kv-gib', 'a GPU KV budget is required (--gpu-kv-gib, --gpu-kv-blocks or --sweep gpu-kv-gib=…)');
  const budgetOf = (gib: number | undefined): number => (gib !== undefined ? cost.budgetBlocksFromGiB(gib) : setup.gpuKvBlocks !== undefined ? Math.floor(setup.gpuKvBlocks) : cost.budgetBlocksFromGiB(setup.gpuKvGib!));
  for (const v of kvAxis?.values ?? []) if (budgetOf(v) <= 0) throw usageError('--sweep', `gpu-kv-gib=${v} holds no KV block`);
  if (!kvAxis && budgetOf(undefined) <= 0) throw usageError(setup.gpuKvBlocks !== undefined ? '--gpu-kv-blocks' : '--gpu-kv-gib', 'the budget must hold at least one block');

  // One SLO for every cell, and one that does not move with the swept range: its base is taken at
  // the budget and batch given, or, where either is swept, at SWEEP_SLO_REFERENCE_GIB and the
  // default batch.
  const refGib = kvAxis ? SWEEP_SLO_REFERENCE_GIB : undefined;
  const refSeqs = setup.maxNumSeqs;
  const baseMs = sloBaseMs(cost, budgetOf(refGib), refSeqs);
  const reference = `${kvAxis ? `${SWEEP_SLO_REFERENCE_GIB} GiB (gpu-kv-gib is swept)` : 'the budget given'}, batch ${refSeqs}${axisOf('max-num-seqs') ? ' (max-num-seqs is swept)' : ''}`;
  const sloAxis = axisOf('slo-scale');
  const slo: SweepHeader['slo'] =
    setup.tpotSloMs !== undefined
      ? { source: '--tpot-slo-ms', base_ms: baseMs, scale: null, tpot_ms: setup.tpotSloMs, reference }
      : sloAxis
        ? { source: 'swept slo-scale × all-on-GPU step at the reference budget’s token capacity', base_ms: baseMs, scale: null, tpot_ms: null, reference }
        : { source: `${setup.sloScale} × all-on-GPU step at the reference budget’s token capacity`, base_ms: baseMs, scale: setup.sloScale, tpot_ms: setup.sloScale * baseMs, reference };

  const traceFile = opts.trace!;
  const rateValues = axisOf('rate-scale')?.values ?? [setup.traceOpts.rateScale];
  const traces = new Map<number, Awaited<ReturnType<typeof readRequests>>>();
  for (const r of rateValues) traces.set(r, await readRequests(traceFile, setup, r));
  const atRate1 = rateValues.includes(1) ? traces.get(1)! : await readRequests(traceFile, setup, 1);

  const crash = ctx.env.ORBITFLOW_TEST_SWEEP_CRASH;
  const cells: SweepCell[] = [];
  const tasks: SweepTask[] = [];
  for (const [index, at] of gridPoints(axes).entries()) {
    const budgetBlocks = budgetOf(at['gpu-kv-gib']);
    const maxNumSeqs = at['max-num-seqs'] ?? setup.maxNumSeqs;
    const rateScale = at['rate-scale'] ?? setup.traceOpts.rateScale;
    const sloMs = setup.tpotSloMs ?? (at['slo-scale'] ?? setup.sloScale) * baseMs;
    const requests = traces.get(rateScale)!.requests;
    cells.push({ index, at, budget_blocks: budgetBlocks, budget_gib: (budgetBlocks * cost.blockBytes) / GIB, max_num_seqs: maxNumSeqs, rate_scale: rateScale, slo_ms: sloMs, requests: requests.length, rows: [], failed: [], not_run: [] });
    for (const policy of setup.policies) {
      tasks.push({
        cell: index,
        policy,
        model: setup.model,
        profile: setup.loaded.profile,
        tp: setup.tp,
        requests,
        budgetBlocks,
        hostBlocks: setup.hostKvGib !== undefined ? cost.budgetBlocksFromGiB(setup.hostKvGib) : undefined,
        maxNumSeqs,
        noiseCv: setup.noiseCv,
        seed: setup.seed,
        stepOverheadMs: setup.stepOverheadMs,
        sloMs,
        windowSteps: setup.windowSteps,
        timeLimitMs: setup.timeLimitMs,
        pausePolicy: setup.pausePolicy,
        solverLatency: setup.solverLatency,
        crash: crash !== undefined && crash === `${describePoint(at)}:${policy}` ? true : undefined,
      });
    }
  }
  const first = traces.get(rateValues[0])!;
  const header: SweepHeader = {
    created: new Date().toISOString(),
    tool: `orbitflow ${VERSION}`,
    model: setup.model.id,
    tp: setup.tp,
    profile: { id: setup.loaded.profile.id, file: setup.loaded.file, sha256: setup.loaded.sha256, provenance: provenanceLine(setup.loaded.profile) },
    trace: { file: traceFile, format: first.format, window: opts.window ?? null, requests_at_rate_1: atRate1.requests.length, rows_skipped: first.rowsSkipped, warnings: first.warnings },
    engine: {
      max_num_seqs: setup.maxNumSeqs,
      noise_cv: setup.noiseCv,
      step_overhead_ms: setup.stepOverheadMs,
      host_kv_gib: setup.hostKvGib ?? null,
      seed: setup.seed,
      budget_gib: kvAxis ? null : (budgetOf(undefined) * cost.blockBytes) / GIB,
    },
    slo,
    solver_latency: describeSolverLatency(setup.solverLatency ?? { mode: 'model' }),
    jobs,
  };
  return { setup, axes, target, jobs, cells, tasks, header };
}

function errorText(e: unknown): string {
  const m = (e as Error)?.message ?? String(e);
  return m.replace(/\s+/g, ' ').trim() || 'unknown error';
}

/**
 * `plan --trace TRACE --sweep KEY=v1,v2,… [--sweep KEY2=…] [--target 'tbt>=0.9'] [--jobs N]`:
 * every cell × policy simulated in virtual time on a pool of worker threads, then one
 * orbitflow.sweep/v1 report, printed as a table (or JSON) and written to --out DIR.
 */
export async function runPlanSweep(opts: PlanCliOptions, ctx: CliContext, given: GivenOnCommandLine): Promise<void> {
  const outDir = opts.out !== undefined ? resolve(ctx.cwd, opts.out) : undefined;
  const plan = await planSweep(opts, ctx, given);
  if (outDir) prepareOutputDir(outDir, '--out');
  const json = Boolean(opts.json);
  const { cells, tasks, jobs } = plan;
  const t0 = ctx.clockMs();
  const tty = Boolean((ctx.stderr as { isTTY?: boolean }).isTTY) && !ctx.env.CI;
  err(ctx, `sweeping ${describeAxes(plan.axes)} on ${plan.header.trace.requests_at_rate_1} requests of ${plan.header.trace.file}: ${tasks.length} simulations (${cells.length} cells × ${plan.setup.policies.length} policies) on ${Math.min(jobs, tasks.length)} worker thread(s), virtual time`);

  const pool = new Piscina({ filename: new URL('./sweep-worker.js', import.meta.url).href, minThreads: Math.min(jobs, tasks.length), maxThreads: Math.min(jobs, tasks.length), idleTimeout: 1000, concurrentTasksPerWorker: 1 });
  const ac = new AbortController();
  // Every queued simulation listens on the one signal (the pool holds them all at once).
  setMaxListeners(tasks.length + 1, ac.signal);
  let done = 0;
  const running = (): number => Math.min(jobs, tasks.length - done);
  let interrupted = false;
  const draw = (): void => {
    if (tty) ctx.stderr.write(`\r${sweepBar(done, tasks.length, running(), (ctx.clockMs() - t0) / 1000)}\x1b[K`);
  };
  const ticker = tty ? setInterval(draw, 500) : null;
  ticker?.unref();
  // The slow simulations (the controller's) first, so the pool's threads finish together; where a
  // row lands depends only on its cell and policy, never on the order they finish in.
  const order = tasks.map((t, i) => ({ t, i })).sort((a, b) => Number(isBaselinePolicy(a.t.policy)) - Number(isBaselinePolicy(b.t.policy)) || a.i - b.i);
  const results: (PolicyRow | { error: string } | null)[] = tasks.map(() => null);
  const finished = (async (): Promise<SweepReport> => {
    await Promise.all(
      order.map(async ({ t, i }) => {
        try {
          results[i] = (await pool.run(t, { signal: ac.signal })) as PolicyRow;
        } catch (e) {
          if (ac.signal.aborted) return;
          results[i] = { error: errorText(e) };
        } finally {
          if (!ac.signal.aborted) {
            done++;
            const r = results[i];
            const what = `${describePoint(cells[t.cell].at)} ${t.policy}`;
            const outcome = r && 'error' in r ? `FAILED (${r.error})` : `${r!.completed}/${r!.requests} completed, TBT ${(100 * r!.tbt_attainment).toFixed(1)}%, ${r!.simulation_wall_s?.toFixed(1)} s`;
            if (tty) draw();
            else err(ctx, sweepLine(done, tasks.length, what, outcome));
          }
        }
      }),
    );
    if (ticker) clearInterval(ticker);
    if (tty) ctx.stderr.write(`\r${sweepBar(done, tasks.length, 0, (ctx.clockMs() - t0) / 1000)}\x1b[K\n`);
    await pool.destroy();
    for (const [i, t] of tasks.entries()) {
      const r = results[i];
      const cell = cells[t.cell];
      if (r === null) cell.not_run.push(t.policy);
      else if ('error' in r) cell.failed.push({ policy: t.policy, error: r.error });
      else cell.rows.push(r);
    }
    const notes: string[] = [];
    if (plan.setup.solverLatency?.mode === 'measured') notes.push('--solver-latency measured: every simulated figure depends on this machine’s wall clock, and on --jobs');
    return buildSweepReport({ header: plan.header, axes: plan.axes, policies: plan.setup.policies, target: plan.target, cells, interrupted, wall_s: (ctx.clockMs() - t0) / 1000, notes });
  })();

  const lost = outDir ? `the finished cells (${join(outDir, SWEEP_OUTPUT_FILE)})` : 'the finished cells';
  const emit = async (report: SweepReport): Promise<void> => {
    if (json) out(ctx, JSON.stringify(report, null, 2));
    else {
      out(ctx, provenanceLine(plan.setup.loaded.profile));
      out(ctx, `trace ${report.trace.file}: ${report.trace.requests_at_rate_1} requests; model ${report.model}; SLO ${report.slo.tpot_ms !== null ? `S = ${report.slo.tpot_ms.toFixed(2)} ms/token` : `S = swept scale × ${report.slo.base_ms.toFixed(2)} ms`} (${report.slo.source}; base at ${report.slo.reference}); max-num-seqs ${report.engine.max_num_seqs}; seed ${report.engine.seed}`);
      ctx.stdout.write(renderSweep(report));
    }
    if (outDir) {
      ctx.finishing = { doing: `writing ${join(outDir, SWEEP_OUTPUT_FILE)}`, lost };
      await writeFileAtomic(join(outDir, SWEEP_OUTPUT_FILE), `${JSON.stringify(report, null, 2)}\n`);
      ctx.finishing = null;
      err(ctx, `wrote ${join(outDir, SWEEP_OUTPUT_FILE)}`);
    }
    await writeReports(ctx, reportTargets(opts.report, outDir), () => buildSweepPage(report, ['orbitflow', ...ctx.argv.slice(2)]));
  };
  ctx.onInterrupt = async () => {
    ctx.finishing = { doing: 'stopping the sweep and keeping the finished cells', lost };
    interrupted = true;
    ac.abort();
    const report = await finished;
    err(ctx, `orbitflow: interrupted: ${report.cells.reduce((s, c) => s + c.rows.length + c.failed.length, 0)} of ${tasks.length} simulations finished; keeping them`);
    await emit(report);
    return ExitCode.interrupted;
  };
  const report = await finished;
  if (interrupted) {
    // The interrupt handler prints and writes; wait here for it (main exits once it is done).
    await new Promise(() => undefined);
  }
  ctx.onInterrupt = undefined;
  await emit(report);
  const failures = report.cells.flatMap((c) => c.failed.map((f) => `${describePoint(c.at)} ${f.policy}`));
  if (failures.length > 0) {
    err(ctx, `orbitflow: ${failures.length} of ${tasks.length} simulations failed (${failures.join('; ')}); the table and JSON show the rest`);
    ctx.exitCode = ExitCode.untrustworthy;
  }
}

function describeAxes(axes: readonly SweepAxis[]): string {
  return axes.map((a) => `${a.key} ${a.values.join(',')}`).join(' × ');
}
