import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { OrbitflowError, usageError } from '../core/errors.js';
import { readInputFile } from '../core/input-file.js';
import { findModel, resolveModel } from '../core/model-catalogue.js';
import { BLOCK_TOKENS } from '../core/units.js';
import { VERSION } from '../core/version.js';
import { CostModel } from '../cost/cost-model.js';
import { BASELINE_POLICIES } from '../cost/baselines.js';
import { parseBatchFile } from '../planner/batch-file.js';
import { planBatch } from '../planner/plan-batch.js';
import { planToJson, planToText, type PlanReport, type SloSource } from '../planner/plan-format.js';
import { evaluateBaseline, PLAN_POLICIES } from '../planner/policies.js';
import type { BatchPlan, PlanInput } from '../planner/types.js';
import { provenanceLine } from '../core/profile-format.js';
import { loadProfile } from '../profile/load.js';
import type { CliContext } from './context.js';
import { addOptionTable } from './option-table.js';
import { PLAN_OPTIONS, type GivenOnCommandLine, type PlanCliOptions } from './plan-options.js';
import { runPlanTrace } from './plan-trace.js';
import { runPlanAgainst } from './plan-against.js';
import { checkReportTargets, reportTargets, writeReports } from './report-output.js';
import { buildBatchReport } from '../report/batch-report.js';
import { runPlanSweep } from './plan-sweep.js';
import { EMBEDDED_DEFAULTS, shippedProfile } from './replay-engine.js';

function readBatch(file: string): string {
  return readInputFile(file, { what: 'batch file', code: 'OF_PLAN_BATCH_READ' });
}

async function runPlanBatch(o: PlanCliOptions, ctx: CliContext): Promise<void> {
  if (!o.model && !o.modelConfig) throw usageError('--model', 'required: a catalogue id such as llama-3.1-8b, or --model-config config.json');
  const model = resolveModel({ model: o.model, modelConfig: o.modelConfig });
  const loaded = loadProfile(o.profile ?? shippedProfile(EMBEDDED_DEFAULTS.profile, '--profile'));
  const cost = new CostModel(model, loaded.profile, { tp: o.tp, modelLookup: findModel });
  let budgetBlocks: number;
  if (o.gpuKvBlocks !== undefined) budgetBlocks = o.gpuKvBlocks;
  else if (o.gpuKvGib !== undefined) budgetBlocks = cost.budgetBlocksFromGiB(o.gpuKvGib);
  else throw usageError('--gpu-kv-gib', 'a GPU KV budget is required: --gpu-kv-gib GiB or --gpu-kv-blocks N');
  if (o.policy !== 'all' && !(PLAN_POLICIES as readonly string[]).includes(o.policy)) {
    throw usageError('--policy', `expected all or one of ${PLAN_POLICIES.join(', ')} with --batch, got '${o.policy}'`);
  }
  const requests = parseBatchFile(o.batch!, readBatch(o.batch!));

  let slo: PlanReport['slo'] = { source: 'none', tpotMs: null, scale: null, baseMs: null };
  let defaultSloTpotMs: number | undefined;
  if (o.tpotSloMs !== undefined) {
    defaultSloTpotMs = o.tpotSloMs;
    slo = { source: '--tpot-slo-ms', tpotMs: o.tpotSloMs, scale: null, baseMs: null };
  } else if (o.sloScale !== undefined) {
    // orbitflow-method.md §9: S = scale × the all-on-GPU step time at the budget's token capacity
    // (whole-model blocks × 16 tokens), for a batch of this size.
    const capacityTokens = Math.floor(budgetBlocks / cost.layers) * BLOCK_TOKENS;
    const baseMs = cost.allOnGpuStepMs(requests.length, capacityTokens);
    defaultSloTpotMs = o.sloScale * baseMs;
    slo = { source: '--slo-scale', tpotMs: defaultSloTpotMs, scale: o.sloScale, baseMs };
  } else if (requests.some((r) => r.sloTpotMs !== undefined)) {
    slo = { source: 'batch file' as SloSource, tpotMs: null, scale: null, baseMs: null };
  }

  const input: PlanInput = {
    cost,
    budgetBlocks,
    requests,
    windowSteps: o.windowSteps,
    defaultSloTpotMs,
    timeLimitMs: o.timeLimitMs,
    gapTolerance: o.gapTolerance,
    pausePolicy: o.pausePolicy,
    seed: o.seed,
  };
  let plan: BatchPlan;
  const baselines: BatchPlan[] = [];
  if (o.policy === 'orbitflow' || o.policy === 'all') plan = await planBatch(input);
  else plan = evaluateBaseline(o.policy as (typeof BASELINE_POLICIES)[number], input);
  if (o.policy === 'all') for (const b of BASELINE_POLICIES) baselines.push(evaluateBaseline(b, input));

  const report: PlanReport = {
    created: new Date().toISOString(),
    tool: `orbitflow ${VERSION}`,
    model,
    tp: o.tp,
    blockBytes: cost.blockBytes,
    profile: { id: loaded.profile.id, file: loaded.file, sha256: loaded.sha256, kind: loaded.profile.provenance.kind, provenanceLine: provenanceLine(loaded.profile) },
    budgetBlocks,
    windowSteps: o.windowSteps,
    timeLimitMs: o.timeLimitMs,
    gapTolerance: o.gapTolerance,
    pausePolicy: o.pausePolicy,
    seed: o.seed,
    slo,
    requests,
    policy: o.policy === 'all' ? 'orbitflow' : o.policy,
    plan,
    baselines,
  };
  const json = `${JSON.stringify(planToJson(report), null, 2)}\n`;
  if (o.out) {
    try {
      writeFileSync(o.out, json);
    } catch (e) {
      throw new OrbitflowError('OF_PLAN_OUT', `--out: cannot write ${o.out} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  ctx.stdout.write(o.json ? json : planToText(report));
  await writeReports(ctx, reportTargets(o.report, undefined), () => buildBatchReport(report, cost, ['orbitflow', ...ctx.argv.slice(2)]));
}

export function registerPlan(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('plan')
    .description(
      'Plan per-request, per-layer KV placements for one decode batch under a GPU KV budget (ILP + heuristic, Pause-Resume), or replay a trace in virtual time with --trace',
    );
  addOptionTable(cmd, PLAN_OPTIONS);
  cmd.action(async (opts: PlanCliOptions, command: Command) => {
    const given: GivenOnCommandLine = (option) => command.getOptionValueSource(option) === 'cli';
    if (opts.assert !== undefined && opts.against === undefined) throw usageError('--assert', 'gates a validation: give --trace TRACE --against DIR');
    if (opts.report !== undefined && opts.against !== undefined) throw usageError('--report', 'reports a --batch plan or a --trace comparison, not a validation (--against)');
    checkReportTargets(opts.report);
    if (opts.against !== undefined) {
      if (opts.sweep !== undefined) throw usageError('--sweep', 'does not go with --against (a validation replays one configuration)');
      if (opts.trace === undefined) throw usageError('--against', 'needs --trace TRACE (the trace the replay ran, with its options)');
      await runPlanAgainst(opts, ctx, given);
      return;
    }
    for (const [key, flag] of [['target', '--target'], ['jobs', '--jobs']] as const) {
      if (opts[key] !== undefined && opts.sweep === undefined) throw usageError(flag, 'goes with --trace TRACE --sweep KEY=v1,v2,…');
    }
    if (opts.sweep !== undefined) {
      if (opts.trace === undefined) throw usageError('--sweep', 'needs --trace TRACE');
      await runPlanSweep(opts, ctx, given);
      return;
    }
    if (opts.trace !== undefined) {
      await runPlanTrace(opts, ctx);
      return;
    }
    if (opts.batch === undefined) throw usageError('--batch', 'one of --batch FILE or --trace FILE is required');
    await runPlanBatch(opts, ctx);
  });
}
