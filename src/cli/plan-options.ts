import { ENGINE_DEFAULTS } from '../engine/engine-core.js';
import { SWEEP_KEYS } from '../engine/sweep-axes.js';
import { ABLATION_LADDER } from '../controller/variants.js';
import { parseSolverLatency, type SolverLatency } from '../controller/solve-latency.js';
import { usageError } from '../core/errors.js';
import { DEFAULT_GAP_TOLERANCE, DEFAULT_TIME_LIMIT_MS, DEFAULT_WINDOW_STEPS } from '../planner/plan-batch.js';
import { PAUSE_POLICIES, type PausePolicy } from '../planner/types.js';
import { flag, optional, repeatable, withDefault, type OptionsOf, type OptionTable } from './option-table.js';
import { fraction, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from './parse-options.js';
import { EMBEDDED_DEFAULTS } from './replay-engine.js';
import { TRACE_OPTIONS } from './trace-options.js';

function solverLatencyOption(v: string): SolverLatency {
  const l = parseSolverLatency(v);
  if (!l) throw usageError('--solver-latency', `expected model, measured, 0 or a non-negative number of ms; got '${v}'`);
  return l;
}

/** Every option of `orbitflow plan` (--batch, --trace, --against, --sweep), in --help order. */
export const PLAN_OPTIONS = {
  model: optional('--model <id>', 'model from the catalogue (llama-3.1-8b, llama-3.1-70b, qwen2.5-7b, qwen2.5-72b, mistral-7b-v0.3)'),
  modelConfig: optional('--model-config <file>', 'HuggingFace config.json of a model not in the catalogue'),
  profile: optional('--profile <file>', `GPU profile JSON (orbitflow.profile/v1, e.g. profiles/a6000-llama-3.1-8b.published-fit.json; default: the embedded engine's, profiles/${EMBEDDED_DEFAULTS.profile}, NOT MEASURED)`),
  gpuKvGib: optional('--gpu-kv-gib <GiB>', 'GPU KV budget per GPU (per TP rank), GiB', { parse: positiveNumber, conflicts: ['gpuKvBlocks'] }),
  gpuKvBlocks: optional('--gpu-kv-blocks <n>', 'GPU KV budget in per-layer blocks (16 tokens of one layer of one request)', { parse: positiveInt }),
  batch: optional('--batch <file>', 'decode batch to place: JSON {"requests":[{id, context_tokens, slo_tpot_ms?, deposit_tokens?}]} or CSV with that header', { conflicts: ['trace'] }),
  trace: optional('--trace <file>', 'a request trace to replay in virtual time under each policy instead of one batch'),
  tpotSloMs: optional('--tpot-slo-ms <ms>', 'TPOT SLO for every request without its own, ms (default: none)', { parse: positiveNumber, conflicts: ['sloScale'] }),
  sloScale: optional('--slo-scale <x>', "TPOT SLO = X × the all-on-GPU step time at the budget's token capacity (default: none)", { parse: positiveNumber }),
  policy: withDefault('--policy <p>', `orbitflow, one baseline, or all (orbitflow plus a table of every baseline); with --trace also ablation (${ABLATION_LADDER.join(', ')}) or a comma-separated list`, 'orbitflow'),
  tp: withDefault('--tp <n>', 'tensor-parallel degree: KV heads, weights and link bytes per GPU are divided by it', 1, { parse: positiveInt }),
  timeLimitMs: withDefault('--time-limit-ms <ms>', 'time limit of the ILP stage, ms; 0 = heuristic only', DEFAULT_TIME_LIMIT_MS, { parse: nonNegativeInt }),
  gapTolerance: withDefault('--gap-tolerance <fraction>', 'stop the ILP search once the answer is proven within this fraction of optimal; 0 = until proven or out of time', DEFAULT_GAP_TOLERANCE, { parse: fraction }),
  windowSteps: withDefault('--window-steps <n>', 'decode window W, steps: each request keeps room for W more tokens, deposits are spread over W', DEFAULT_WINDOW_STEPS, { parse: positiveInt }),
  pausePolicy: withDefault<PausePolicy>('--pause-policy <p>', 'Pause-Resume victim when the batch does not fit (random draws from --seed)', 'longest', { choices: PAUSE_POLICIES }),
  maxNumSeqs: optional('--max-num-seqs <n>', `--trace: most requests decoding at once in the simulated engine (default ${ENGINE_DEFAULTS.maxNumSeqs})`, { parse: positiveInt }),
  noiseCv: optional('--noise-cv <f>', `--trace: multiplicative step-time noise of the simulated engine, coefficient of variation (default ${ENGINE_DEFAULTS.noiseCv})`, { parse: fraction }),
  stepOverheadMs: optional('--step-overhead-ms <ms>', `--trace: fixed per-step cost of the simulated engine, ms (default ${ENGINE_DEFAULTS.stepOverheadMs})`, { parse: nonNegativeNumber }),
  solverLatency: withDefault<SolverLatency>(
    '--solver-latency <mode>',
    "--trace: what each controller solve costs in virtual time: model (a deterministic function of the work it did), measured (this machine's wall time: not reproducible), or a fixed number of ms (0 = instantaneous)",
    { mode: 'model' },
    { parse: solverLatencyOption, defaultText: 'model' },
  ),
  hostKvGib: optional('--host-kv-gib <GiB>', `--trace: host KV capacity of the simulated engine, GiB (default ${ENGINE_DEFAULTS.hostKvGib})`, { parse: positiveNumber }),
  out: optional('--out <path>', 'also write the orbitflow.plan/v1 JSON to this FILE; with --trace, a DIR for comparison.json, placements.jsonl (the offline plans) and report.html'),
  report: optional('--report <file>', 'also write a self-contained HTML report to FILE: with --batch a requests × layers heat map of each placement and the step time per layer; with --sweep each metric per policy over the swept value; with --trace every policy side by side and GPU KV use / H2D traffic over time (also report.html in --out DIR)'),
  json: flag('--json', 'print only the orbitflow.plan/v1 JSON on stdout'),
  against: optional('--against <dir>', "--trace: simulate the very requests of that replay (its --out DIR; same trace options) and print predicted vs measured (orbitflow.validation/v1 with --json); --policy is then the endpoint's (default gpu-only, a stock vLLM)"),
  assert: repeatable('--assert <expr>', "--against: CI gate on a validation key, repeatable, e.g. 'tpot_p50_error<=0.05'; a failure exits 1"),
  sweep: repeatable('--sweep <key=values>', `--trace: simulate every value, e.g. gpu-kv-gib=2,4,8,16 (keys: ${SWEEP_KEYS.join(', ')}); twice for a grid; prints orbitflow.sweep/v1 (sweep.json with --out DIR)`),
  target: optional('--target <clauses>', "--sweep: per policy the least swept value (most, for rate-scale) meeting every clause, e.g. 'tbt>=0.9,tpot>=0.9'"),
  jobs: optional('--jobs <n>', '--sweep: simulations at once, on worker threads (default: the number of cores)', { parse: positiveInt }),
  ...TRACE_OPTIONS,
} satisfies OptionTable;

export type PlanCliOptions = OptionsOf<typeof PLAN_OPTIONS>;

/** Whether an option was given on the command line (not left at its default). */
export type GivenOnCommandLine = (option: keyof PlanCliOptions) => boolean;
