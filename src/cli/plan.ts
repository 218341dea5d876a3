import { ENGINE_DEFAULTS } from '../engine/engine-core.js';
import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { OrbitflowError, usageError } from '../core/errors.js';
import { readInputFile } from '../core/input-file.js';
import { findModel, resolveModel } from '../core/model-catalogue.js';
import { BLOCK_TOKENS } from '../core/units.js';
import { VERSION } from '../core/version.js';
import { CostModel } from '../cost/cost-model.js';
import { BASELINE_POLICIES } from '../cost/baselines.js';
import { parseBatchFile } from '../planner/batch-file.js';
import { DEFAULT_GAP_TOLERANCE, DEFAULT_TIME_LIMIT_MS, DEFAULT_WINDOW_STEPS, planBatch } from '../planner/plan-batch.js';
import { planToJson, planToText, type PlanReport, type SloSource } from '../planner/plan-format.js';
import { evaluateBaseline, PLAN_POLICIES } from '../planner/policies.js';
import { PAUSE_POLICIES, type BatchPlan, type PausePolicy, type PlanInput } from '../planner/types.js';
import { provenanceLine } from '../core/profile-format.js';
import { loadProfile } from '../profile/load.js';
import type { CliContext } from './context.js';
import { collect, fraction, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from './parse-options.js';
import { runPlanTrace } from './plan-trace.js';
import { ABLATION_LADDER } from '../controller/variants.js';
import { parseSolverLatency, type SolverLatency } from '../controller/solve-latency.js';
import { runPlanAgainst } from './plan-against.js';
import { addTraceOptions } from './trace-options.js';
import { checkReportTargets, reportTargets, writeReports } from './report-output.js';
import { buildBatchReport } from '../report/batch-report.js';
import { runPlanSweep } from './plan-sweep.js';
import { EMBEDDED_DEFAULTS, shippedProfile } from './replay-engine.js';
import { SWEEP_KEYS } from '../engine/sweep-axes.js';

interface PlanOptions {
  model?: string;
  modelConfig?: string;
  profile?: string;
  gpuKvGib?: number;
  gpuKvBlocks?: number;
  batch?: string;
  trace?: string;
  tpotSloMs?: number;
  sloScale?: number;
  policy: string;
  tp: number;
  timeLimitMs: number;
  gapTolerance: number;
  windowSteps: number;
  pausePolicy: PausePolicy;
  out?: string;
  report?: string;
  json: boolean;
  seed: number;
}

function readBatch(file: string): string {
  return readInputFile(file, { what: 'batch file', code: 'OF_PLAN_BATCH_READ' });
}

async function runPlanBatch(o: PlanOptions, ctx: CliContext): Promise<void> {
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

function solverLatencyOption(v: string): SolverLatency {
  const l = parseSolverLatency(v);
  if (!l) throw usageError('--solver-latency', `expected model, measured, 0 or a non-negative number of ms; got '${v}'`);
  return l;
}

export function registerPlan(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('plan')
    .description(
      'Plan per-request, per-layer KV placements for one decode batch under a GPU KV budget (ILP + heuristic, Pause-Resume), or replay a trace in virtual time with --trace',
    )
    .option('--model <id>', 'model from the catalogue (llama-3.1-8b, llama-3.1-70b, qwen2.5-7b, qwen2.5-72b, mistral-7b-v0.3)')
    .option('--model-config <file>', 'HuggingFace config.json of a model not in the catalogue')
    .option('--profile <file>', `GPU profile JSON (orbitflow.profile/v1, e.g. profiles/a6000-llama-3.1-8b.published-fit.json; default: the embedded engine's, profiles/${EMBEDDED_DEFAULTS.profile}, NOT MEASURED)`)
    .addOption(new Option('--gpu-kv-gib <GiB>', 'GPU KV budget per GPU (per TP rank), GiB').argParser(positiveNumber).conflicts('gpuKvBlocks'))
    .addOption(new Option('--gpu-kv-blocks <n>', 'GPU KV budget in per-layer blocks (16 tokens of one layer of one request)').argParser(positiveInt))
    .addOption(new Option('--batch <file>', 'decode batch to place: JSON {"requests":[{id, context_tokens, slo_tpot_ms?, deposit_tokens?}]} or CSV with that header').conflicts('trace'))
    .option('--trace <file>', 'a request trace to replay in virtual time under each policy instead of one batch')
    .addOption(new Option('--tpot-slo-ms <ms>', 'TPOT SLO for every request without its own, ms (default: none)').argParser(positiveNumber).conflicts('sloScale'))
    .addOption(new Option('--slo-scale <x>', "TPOT SLO = X × the all-on-GPU step time at the budget's token capacity (default: none)").argParser(positiveNumber))
    .addOption(new Option('--policy <p>', `orbitflow, one baseline, or all (orbitflow plus a table of every baseline); with --trace also ablation (${ABLATION_LADDER.join(', ')}) or a comma-separated list`).default('orbitflow'))
    .addOption(new Option('--tp <n>', 'tensor-parallel degree: KV heads, weights and link bytes per GPU are divided by it').argParser(positiveInt).default(1))
    .addOption(new Option('--time-limit-ms <ms>', 'time limit of the ILP stage, ms; 0 = heuristic only').argParser(nonNegativeInt).default(DEFAULT_TIME_LIMIT_MS))
    .addOption(new Option('--gap-tolerance <fraction>', 'stop the ILP search once the answer is proven within this fraction of optimal; 0 = until proven or out of time').argParser(fraction).default(DEFAULT_GAP_TOLERANCE))
    .addOption(new Option('--window-steps <n>', 'decode window W, steps: each request keeps room for W more tokens, deposits are spread over W').argParser(positiveInt).default(DEFAULT_WINDOW_STEPS))
    .addOption(new Option('--pause-policy <p>', 'Pause-Resume victim when the batch does not fit (random draws from --seed)').choices(PAUSE_POLICIES).default('longest'))
    .option('--max-num-seqs <n>', `--trace: most requests decoding at once in the simulated engine (default ${ENGINE_DEFAULTS.maxNumSeqs})`, positiveInt)
    .option('--noise-cv <f>', `--trace: multiplicative step-time noise of the simulated engine, coefficient of variation (default ${ENGINE_DEFAULTS.noiseCv})`, fraction)
    .option('--step-overhead-ms <ms>', `--trace: fixed per-step cost of the simulated engine, ms (default ${ENGINE_DEFAULTS.stepOverheadMs})`, nonNegativeNumber)
    .addOption(new Option('--solver-latency <mode>', '--trace: what each controller solve costs in virtual time: model (a deterministic function of the work it did), measured (this machine\'s wall time: not reproducible), or a fixed number of ms (0 = instantaneous)').argParser(solverLatencyOption).default({ mode: 'model' }, 'model'))
    .option('--host-kv-gib <GiB>', `--trace: host KV capacity of the simulated engine, GiB (default ${ENGINE_DEFAULTS.hostKvGib})`, positiveNumber)
    .option('--out <path>', 'also write the orbitflow.plan/v1 JSON to this FILE; with --trace, a DIR for comparison.json, placements.jsonl (the offline plans) and report.html')
    .option('--report <file>', 'also write a self-contained HTML report to FILE: with --batch a requests × layers heat map of each placement and the step time per layer; with --sweep each metric per policy over the swept value; with --trace every policy side by side and GPU KV use / H2D traffic over time (also report.html in --out DIR)')
    .option('--json', 'print only the orbitflow.plan/v1 JSON on stdout', false)
    .option('--against <dir>', "--trace: simulate the very requests of that replay (its --out DIR; same trace options) and print predicted vs measured (orbitflow.validation/v1 with --json); --policy is then the endpoint's (default gpu-only, a stock vLLM)")
    .option('--assert <expr>', "--against: CI gate on a validation key, repeatable, e.g. 'tpot_p50_error<=0.05'; a failure exits 1", collect)
    .option('--sweep <key=values>', `--trace: simulate every value, e.g. gpu-kv-gib=2,4,8,16 (keys: ${SWEEP_KEYS.join(', ')}); twice for a grid; prints orbitflow.sweep/v1 (sweep.json with --out DIR)`, collect)
    .option('--target <clauses>', "--sweep: per policy the least swept value (most, for rate-scale) meeting every clause, e.g. 'tbt>=0.9,tpot>=0.9'")
    .option('--jobs <n>', '--sweep: simulations at once, on worker threads (default: the number of cores)', positiveInt);
  addTraceOptions(cmd);
  cmd.action(async (opts: PlanOptions & Record<string, unknown>, command: Command) => {
    if (opts.assert !== undefined && opts.against === undefined) throw usageError('--assert', 'gates a validation: give --trace TRACE --against DIR');
    if (opts.report !== undefined && opts.against !== undefined) throw usageError('--report', 'reports a --batch plan or a --trace comparison, not a validation (--against)');
    checkReportTargets(opts.report);
    if (opts.against !== undefined) {
      if (opts.sweep !== undefined) throw usageError('--sweep', 'does not go with --against (a validation replays one configuration)');
      if (opts.trace === undefined) throw usageError('--against', 'needs --trace TRACE (the trace the replay ran, with its options)');
      await runPlanAgainst(opts, ctx, command.getOptionValueSource('policy') !== 'default');
      return;
    }
    for (const [key, flag] of [['target', '--target'], ['jobs', '--jobs']] as const) {
      if (opts[key] !== undefined && opts.sweep === undefined) throw usageError(flag, 'goes with --trace TRACE --sweep KEY=v1,v2,…');
    }
    if (opts.sweep !== undefined) {
      if (opts.trace === undefined) throw usageError('--sweep', 'needs --trace TRACE');
      await runPlanSweep(opts, ctx, (option) => command.getOptionValueSource(option) === 'cli');
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
