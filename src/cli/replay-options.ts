import { ENGINE_DEFAULTS } from '../engine/engine-core.js';
import type { PromptMode } from '../replay/prompt.js';
import type { ApiKind } from '../replay/request-body.js';
import { flag, optional, repeatable, variadic, withDefault, type OptionsOf, type OptionTable } from './option-table.js';
import { fraction, positiveInt, positiveNumber } from './parse-options.js';
import { EMBEDDED_DEFAULTS } from './replay-engine.js';
import { SCALE_OPTIONS } from './replay-scale.js';
import { TELEMETRY_OPTIONS } from './replay-telemetry.js';
import { TRACE_OPTIONS } from './trace-options.js';

export const CONTROLLER_MODES = ['on', 'off', 'auto'] as const;
export type ControllerMode = (typeof CONTROLLER_MODES)[number];

const API_KINDS = ['completions', 'chat'] as const satisfies readonly ApiKind[];
const PROMPT_MODES = ['token-ids', 'text'] as const satisfies readonly PromptMode[];

/** Every option of `orbitflow replay`, in --help order: one definition each (flag, help, parser, default). */
export const REPLAY_OPTIONS = {
  endpoint: optional('--endpoint <url>', 'OpenAI-compatible server base URL, e.g. http://127.0.0.1:8000 (default: start the reference engine in-process on a free loopback port, policy external, and stop it afterwards)'),
  controller: withDefault<ControllerMode>('--controller <mode>', 'feedback controller: on, off, or auto (on when the endpoint speaks the OrbitFlow control protocol)', 'auto', { choices: CONTROLLER_MODES }),
  profile: optional('--profile <file>', "GPU profile the controller plans with (default: the embedded engine's; an external endpoint needs it for the controller)"),
  model: optional('--model <id>', "model the controller plans for (default: the embedded engine's, llama-3.1-8b)"),
  tp: withDefault('--tp <n>', 'tensor-parallel degree the controller plans for', 1, { parse: positiveInt }),
  engineProfile: optional('--engine-profile <file>', `embedded engine: GPU profile (default: profiles/${EMBEDDED_DEFAULTS.profile})`),
  engineGpuKvGib: withDefault('--engine-gpu-kv-gib <GiB>', 'embedded engine: GPU KV budget, GiB', EMBEDDED_DEFAULTS.gpuKvGib, { parse: positiveNumber }),
  engineMaxNumSeqs: withDefault('--engine-max-num-seqs <n>', 'embedded engine: most requests decoding at once', EMBEDDED_DEFAULTS.maxNumSeqs, { parse: positiveInt }),
  engineNoiseCv: withDefault('--engine-noise-cv <f>', 'embedded engine: multiplicative step-time noise (coefficient of variation)', ENGINE_DEFAULTS.noiseCv, { parse: fraction }),
  compare: optional('--compare <policies>', 'embedded engine only: after the controlled run, replay the same trace under each of these static policies (e.g. flexgen-plus,dynamic,deepspeed) and print a comparison table'),
  api: withDefault<ApiKind>('--api <kind>', 'API to call: completions (/v1/completions) or chat (/v1/chat/completions; deltas without content, such as the role-only opening delta, are not counted as tokens)', 'completions', { choices: API_KINDS }),
  prompt: optional<PromptMode>('--prompt <mode>', 'synthetic prompts: token-ids (exact input length; completions only) or text (≈1 token per word) (default: token-ids for completions, text for chat)', { choices: PROMPT_MODES }),
  modelName: optional('--model-name <name>', "model name sent in each request (default: the first id of GET /v1/models, else 'default')"),
  apiKeyEnv: optional('--api-key-env <var>', 'name of the environment variable holding an API key, sent as "Authorization: Bearer …" (never printed or stored) (default: none)'),
  ...TRACE_OPTIONS,
  ...TELEMETRY_OPTIONS,
  ...SCALE_OPTIONS,
  maxConcurrency: optional('--max-concurrency <n>', 'at most N requests in flight; later ones wait in a FIFO and the wait is reported as client queue time (default: unbounded)', { parse: positiveInt }),
  requestTimeoutS: withDefault('--request-timeout-s <s>', 'per-request limit in seconds (any length: limits past the 24.8-day timer range are kept exactly); a request still running then fails as timeout', 600, { parse: positiveNumber }),
  slo: optional('--slo <spec>', 'SLOs in ms for attainment and token goodput: ttft=MS,tpot=MS,tbt=MS,e2el=MS (any subset) (default: none)'),
  deposit: flag('--deposit', 'also score TBT attainment with Token-Deposit (OrbitFlow §7.2); needs a tbt SLO'),
  goodput: variadic('--goodput <pairs...>', 'vLLM request goodput SLOs in ms: ttft:MS tpot:MS e2el:MS (put TRACE before this option) (default: off, request_goodput null)'),
  percentiles: withDefault('--percentiles <list>', 'percentiles reported for TTFT, TPOT, ITL, E2EL and TBT, comma-separated', '50,99'),
  out: optional('--out <dir>', 'write result.json, requests.jsonl, summary.md and report.html into DIR (created if missing)'),
  saveDetailed: flag('--save-detailed', "add vLLM's per-request lists to the result: input_lens, output_lens, ttfts, itls, start_times, latencies, errors (seconds, as vLLM writes them)"),
  report: optional('--report <file>', 'also write a self-contained HTML report (charts of latency CDFs, load, schedule lag, SLO attainment, controller, telemetry; --compare runs overlaid) to FILE'),
  assert: repeatable('--assert <expr>', "CI gate on a numeric result key, repeatable, e.g. 'p99_ttft_ms<=500', 'slo_attainment.tpot>=0.9' (operators < <= > >= ==); a failure exits 1 (default: none)"),
  maxErrorRate: withDefault('--max-error-rate <f>', 'a run whose failed/issued fraction exceeds F is marked degraded (exit 4)', 0.05, { parse: fraction }),
  maxScheduleLagMs: withDefault('--max-schedule-lag-ms <ms>', "a run whose p99 schedule lag (client's own lateness sending a request) exceeds MS is marked degraded (exit 4)", 10, { parse: positiveNumber }),
  dryRun: flag('--dry-run', 'print the trace summary and send nothing'),
  json: flag('--json', 'print only the orbitflow.run/v1 result JSON on stdout (progress goes to stderr)'),
} satisfies OptionTable;

export type ReplayCliOptions = OptionsOf<typeof REPLAY_OPTIONS>;
