import { basename, join } from 'node:path';
import { ENGINE_DEFAULTS } from '../engine/engine-core.js';
import { Option, type Command } from 'commander';
import { ExitCode, usageError } from '../core/errors.js';
import { loadTrace } from '../trace/open.js';
import { formatTraceSummary, summariseTrace, traceSummaryJson } from '../trace/summary.js';
import type { TraceRequest } from '../core/trace-request.js';
import { checkAssertions, parseAssertion, validateAssertions, type Assertion } from '../replay/assertions.js';
import { parseEndpoint } from '../replay/endpoint.js';
import { sha256File } from '../replay/file-hash.js';
import { LiveStats } from '../replay/live-stats.js';
import type { SloSpec } from '../replay/metrics-slo.js';
import type { GoodputSpec } from '../replay/metrics-vllm.js';
import { RUN_OUTPUT_FILES, writeRunOutputs } from '../replay/outputs.js';
import { prepareOutputDir } from '../core/output-files.js';
import { redact, registerSecret } from '../core/redact.js';
import { parseGoodput, parsePercentiles, parseSlo } from '../replay/parse-specs.js';
import { DEFAULT_HASH_BLOCK_TOKENS, type PromptMode } from '../replay/prompt.js';
import type { ApiKind } from '../replay/request-body.js';
import { buildRunResult, type RunMetadata, type RunResult } from '../replay/run-result.js';
import type { ReplayConfig } from '../replay/run-replay.js';
import { HookBus } from '../replay/hook-bus.js';
import { runReplayWorkers } from '../replay/run-workers.js';
import { capShare, shareOf } from '../replay/shard.js';
import { unixToHrMs } from '../replay/clock.js';
import { addScaleOptions, scalePlanFrom, type ScalePlan } from './replay-scale.js';
import type { RequestRecord } from '../replay/request-record.js';
import { buildReplayReport, type ReplayRun } from '../report/replay-report.js';
import { checkReportTargets, reportTargets, writeReports } from './report-output.js';
import { formatProgressLine } from '../ui/progress-line.js';
import { formatRunSummary, runSummaryMarkdown } from '../ui/run-summary.js';
import type { LiveView } from '../ui/live-view.js';
import type { CliContext } from './context.js';
import { collect, fraction, positiveInt, positiveNumber } from './parse-options.js';
import { addTraceOptions, traceOptionsFrom } from './trace-options.js';
import { OrbitflowError } from '../core/errors.js';
import { resolveModel } from '../core/model-catalogue.js';
import type { ModelSpec } from '../core/model-spec.js';
import type { EnginePolicyName } from '../engine/types.js';
import { BASELINE_POLICIES, isBaselinePolicy } from '../cost/baselines.js';
import { provenanceLine, type Profile } from '../core/profile-format.js';
import { loadProfile } from '../profile/load.js';
import { attachController, type AttachedController } from './replay-controller.js';
import { controllerOff } from '../controller/run-report.js';
import { formatComparison, type CompareRow } from '../ui/compare-table.js';
import { addTelemetryOptions, attachTelemetry } from './replay-telemetry.js';
import { EMBEDDED_DEFAULTS, startEmbeddedEngine, type EmbeddedEngine, type EmbeddedEngineOptions } from './replay-engine.js';

/** Plain progress lines (no live view) at most this often. */
const PROGRESS_EVERY_MS = 5000;

interface ReplayCliOptions {
  endpoint?: string;
  api: ApiKind;
  prompt?: PromptMode;
  modelName?: string;
  apiKeyEnv?: string;
  maxConcurrency?: number;
  requestTimeoutS: number;
  slo?: string;
  deposit: boolean;
  goodput?: string[];
  percentiles: string;
  out?: string;
  report?: string;
  assert?: string[];
  maxErrorRate: number;
  maxScheduleLagMs: number;
  dryRun: boolean;
  json: boolean;
  [traceOption: string]: unknown;
}

export function registerReplay(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('replay')
    .description(
      'Replay a request trace against an OpenAI-compatible endpoint on its absolute arrival schedule, streaming every request, and report vLLM-compatible metrics, SLO attainment (with Token-Deposit), and CI gates.',
    )
    .argument('<trace>', 'trace file: Azure 2023 CSV, Mooncake JSONL, BurstGPT CSV, OrbitFlow artifact JSON, or generic CSV/JSONL')
    .option('--endpoint <url>', 'OpenAI-compatible server base URL, e.g. http://127.0.0.1:8000 (default: start the reference engine in-process on a free loopback port, policy external, and stop it afterwards)')
    .addOption(new Option('--controller <mode>', 'feedback controller: on, off, or auto (on when the endpoint speaks the OrbitFlow control protocol)').choices(['on', 'off', 'auto']).default('auto'))
    .option('--profile <file>', "GPU profile the controller plans with (default: the embedded engine's; an external endpoint needs it for the controller)")
    .option('--model <id>', "model the controller plans for (default: the embedded engine's, llama-3.1-8b)")
    .option('--tp <n>', "tensor-parallel degree the controller plans for", positiveInt, 1)
    .option('--engine-profile <file>', `embedded engine: GPU profile (default: profiles/${EMBEDDED_DEFAULTS.profile})`)
    .option('--engine-gpu-kv-gib <GiB>', 'embedded engine: GPU KV budget, GiB', positiveNumber, EMBEDDED_DEFAULTS.gpuKvGib)
    .option('--engine-max-num-seqs <n>', 'embedded engine: most requests decoding at once', positiveInt, EMBEDDED_DEFAULTS.maxNumSeqs)
    .option('--engine-noise-cv <f>', 'embedded engine: multiplicative step-time noise (coefficient of variation)', fraction, ENGINE_DEFAULTS.noiseCv)
    .option('--compare <policies>', 'embedded engine only: after the controlled run, replay the same trace under each of these static policies (e.g. flexgen-plus,dynamic,deepspeed) and print a comparison table')
    .addOption(new Option('--api <kind>', 'API to call: completions (/v1/completions) or chat (/v1/chat/completions; deltas without content, such as the role-only opening delta, are not counted as tokens)').choices(['completions', 'chat']).default('completions'))
    .addOption(
      new Option('--prompt <mode>', 'synthetic prompts: token-ids (exact input length; completions only) or text (≈1 token per word) (default: token-ids for completions, text for chat)').choices(['token-ids', 'text']),
    )
    .option('--model-name <name>', "model name sent in each request (default: the first id of GET /v1/models, else 'default')")
    .option('--api-key-env <var>', 'name of the environment variable holding an API key, sent as "Authorization: Bearer …" (never printed or stored) (default: none)');
  addTraceOptions(cmd);
  addTelemetryOptions(cmd);
  addScaleOptions(cmd);
  cmd
    .option('--max-concurrency <n>', 'at most N requests in flight; later ones wait in a FIFO and the wait is reported as client queue time (default: unbounded)', positiveInt)
    .option('--request-timeout-s <s>', 'per-request limit in seconds (any length: limits past the 24.8-day timer range are kept exactly); a request still running then fails as timeout', positiveNumber, 600)
    .option('--slo <spec>', 'SLOs in ms for attainment and token goodput: ttft=MS,tpot=MS,tbt=MS,e2el=MS (any subset) (default: none)')
    .option('--deposit', 'also score TBT attainment with Token-Deposit (OrbitFlow §7.2); needs a tbt SLO', false)
    .option('--goodput <pairs...>', "vLLM request goodput SLOs in ms: ttft:MS tpot:MS e2el:MS (put TRACE before this option) (default: off, request_goodput null)")
    .option('--percentiles <list>', 'percentiles reported for TTFT, TPOT, ITL, E2EL and TBT, comma-separated', '50,99')
    .option('--out <dir>', 'write result.json, requests.jsonl, summary.md and report.html into DIR (created if missing)')
    .option('--save-detailed', "add vLLM's per-request lists to the result: input_lens, output_lens, ttfts, itls, start_times, latencies, errors (seconds, as vLLM writes them)", false)
    .option('--report <file>', 'also write a self-contained HTML report (charts of latency CDFs, load, schedule lag, SLO attainment, controller, telemetry; --compare runs overlaid) to FILE')
    .option('--assert <expr>', "CI gate on a numeric result key, repeatable, e.g. 'p99_ttft_ms<=500', 'slo_attainment.tpot>=0.9' (operators < <= > >= ==); a failure exits 1 (default: none)", collect)
    .option('--max-error-rate <f>', 'a run whose failed/issued fraction exceeds F is marked degraded (exit 4)', fraction, 0.05)
    .option('--max-schedule-lag-ms <ms>', "a run whose p99 schedule lag (client's own lateness sending a request) exceeds MS is marked degraded (exit 4)", positiveNumber, 10)
    .option('--dry-run', 'print the trace summary and send nothing', false)
    .option('--json', 'print only the orbitflow.run/v1 result JSON on stdout (progress goes to stderr)', false)
    .action(async (trace: string, opts: ReplayCliOptions) => {
      await replayCommand(ctx, trace, opts);
    });
}

function redactArg(arg: string): string {
  return arg.replace(/(\/\/)[^/@\s]+@/g, '$1***@');
}

async function readTrace(file: string, opts: ReturnType<typeof traceOptionsFrom>, ctx: CliContext): Promise<{ requests: TraceRequest[]; format: string }> {
  // Read whole before t0: parsing during the run would compete with the pacer.
  const { requests, stats, format } = await loadTrace(file, opts);
  for (const w of stats.warnings) ctx.stderr.write(`orbitflow: ${file}: ${w}\n`);
  return { requests, format };
}

interface ParsedRun {
  traceOpts: ReturnType<typeof traceOptionsFrom>;
  percentiles: number[];
  slo: SloSpec;
  goodput: GoodputSpec | undefined;
  asserts: Assertion[];
}

async function replayCommand(ctx: CliContext, traceFile: string, opts: ReplayCliOptions): Promise<void> {
  const parsed: ParsedRun = {
    traceOpts: traceOptionsFrom(opts),
    percentiles: parsePercentiles(opts.percentiles),
    slo: opts.slo !== undefined ? parseSlo(opts.slo) : {},
    goodput: opts.goodput !== undefined ? parseGoodput(opts.goodput) : undefined,
    asserts: (opts.assert ?? []).map(parseAssertion),
  };
  if (opts.deposit && parsed.slo.tbtMs === undefined) throw usageError('--deposit', 'Token-Deposit scores TBT: give a tbt SLO with --slo tbt=MS');

  if (opts.dryRun && opts.report !== undefined) throw usageError('--report', 'a --dry-run sends nothing, so there is nothing to chart; leave out one of them');
  if (opts.dryRun) {
    await dryRun(ctx, traceFile, parsed.traceOpts, opts.json);
    return;
  }
  if (opts.compare !== undefined && opts.endpoint !== undefined) throw usageError('--compare', 'compares policies of the embedded engine: leave out --endpoint');
  const comparePolicies = typeof opts.compare === 'string' ? parseComparePolicies(opts.compare) : [];
  const scale = scalePlanFrom(opts, ctx, Date.now());
  // Before anything is read or sent: a run must never end unable to keep what it measured.
  if (opts.out !== undefined) prepareOutputDir(opts.out, '--out');
  checkReportTargets(opts.report);
  const run = await prepareRun(ctx, traceFile, opts, parsed, scale);
  // The HTML report: written at the end, or at once when a run is interrupted (finished work is kept).
  const runs: ReplayRun[] = [];
  const targets = reportTargets(opts.report, opts.out);
  const report = (): Promise<void> =>
    writeReports(ctx, targets, () =>
      buildReplayReport(
        {
          primary: runs[0],
          compare: runs.slice(1),
          context: reportContext(opts, embedded),
          comparisonText: runs.length > 1 ? formatComparison(runs.map((r) => ({ policy: r.label, result: r.result }))) : undefined,
        },
        { maxScheduleLagMs: opts.maxScheduleLagMs },
      ),
    );
  const onRun = async (label: string, r: ReplayRun['result'], records: readonly RequestRecord[]): Promise<void> => {
    runs.push({ label, result: r, records });
    if (r.interrupted) await report();
  };
  const embedded = opts.endpoint === undefined ? await startEmbeddedEngine(embeddedOptions(opts, parsed.traceOpts.seed)) : null;
  if (embedded) ctx.stderr.write(`orbitflow: ${embedded.description}\n`);
  let result: RunResult;
  try {
    result = await replayOnce(ctx, traceFile, opts, parsed, run, embedded, embedded ? embedded.server.url : opts.endpoint!, true, (r, records) =>
      onRun(comparePolicies.length > 0 ? 'orbitflow (controller)' : 'this run', r, records),
    );
  } finally {
    await embedded?.server.close();
  }
  if (result.interrupted) return;
  if (comparePolicies.length === 0) {
    await report();
    return;
  }
  const rows: CompareRow[] = [{ policy: 'orbitflow (controller)', result }];
  for (const policy of comparePolicies) {
    const engine = await startEmbeddedEngine(embeddedOptions(opts, parsed.traceOpts.seed), policy);
    ctx.stderr.write(`orbitflow: --compare: ${engine.description}\n`);
    try {
      const r = await replayOnce(ctx, traceFile, { ...opts, json: false, out: undefined }, parsed, run, engine, engine.server.url, false, (x, records) => onRun(policy, x, records));
      rows.push({ policy, result: r });
      if (r.interrupted) break;
    } finally {
      await engine.server.close();
    }
  }
  await write(opts.json ? ctx.stderr : ctx.stdout, formatComparison(rows));
  if (!rows[rows.length - 1].result.interrupted) await report();
}

/** The report's header lines the result does not hold: which engine ran, on which profile. */
function reportContext(opts: ReplayCliOptions, embedded: EmbeddedEngine | null): Array<[string, string]> {
  if (embedded) return [['Engine', embedded.description]];
  if (typeof opts.profile === 'string') return [['Controller profile', provenanceLine(loadProfile(opts.profile).profile)]];
  return [];
}

function embeddedOptions(opts: ReplayCliOptions, seed: number): EmbeddedEngineOptions {
  return {
    engineProfile: opts.engineProfile as string | undefined,
    engineGpuKvGib: opts.engineGpuKvGib as number | undefined,
    engineMaxNumSeqs: opts.engineMaxNumSeqs as number | undefined,
    engineNoiseCv: opts.engineNoiseCv as number | undefined,
    seed,
  };
}

function parseComparePolicies(list: string): EnginePolicyName[] {
  const out: EnginePolicyName[] = [];
  for (const p of list.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (!isBaselinePolicy(p)) throw usageError('--compare', `expected baseline policies (${BASELINE_POLICIES.join(', ')}), got '${p}'`);
    out.push(p);
  }
  return out;
}

/** The model and profile the controller plans with: given, or the embedded engine's. */
function controllerInputs(opts: ReplayCliOptions, embedded: EmbeddedEngine | null): { model: ModelSpec; profile: Profile } | null {
  if (typeof opts.profile === 'string') {
    return { model: resolveModel({ model: opts.model as string | undefined }), profile: loadProfile(opts.profile).profile };
  }
  if (embedded) return { model: embedded.model, profile: embedded.profile.profile };
  return null;
}

/** What every run of the command shares, checked before any engine starts or request is sent. */
interface RunInputs {
  requests: TraceRequest[];
  format: string;
  traceSha: string;
  prompt: PromptMode;
  headers: Record<string, string>;
  /** Requests in the whole trace (`requests` is this shard's share). */
  traceRequests: number;
  scale: ScalePlan;
}

async function prepareRun(ctx: CliContext, traceFile: string, opts: ReplayCliOptions, parsed: ParsedRun, scale: ScalePlan): Promise<RunInputs> {
  const { percentiles, slo, goodput, asserts } = parsed;
  const prompt: PromptMode = opts.prompt ?? (opts.api === 'chat' ? 'text' : 'token-ids');
  if (opts.api === 'chat' && prompt === 'token-ids') throw usageError('--prompt', 'token-ids prompts need --api completions (chat messages are text)');
  const headers: Record<string, string> = {};
  if (opts.apiKeyEnv !== undefined) {
    // A key given where its variable's name belongs must not be echoed in the error.
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(opts.apiKeyEnv)) {
      throw usageError('--api-key-env', 'expects the NAME of an environment variable holding the key (letters, digits, _), not the key itself; what was given is not shown', 'e.g. OPENAI_API_KEY=… orbitflow replay … --api-key-env OPENAI_API_KEY');
    }
    const key = ctx.env[opts.apiKeyEnv];
    if (key === undefined || key === '') throw usageError('--api-key-env', `environment variable ${opts.apiKeyEnv} is not set`);
    registerSecret(key);
    headers.authorization = `Bearer ${key}`;
  }

  const { requests: whole, format } = await readTrace(traceFile, parsed.traceOpts, ctx);
  const requests = scale.shard !== null ? shareOf(whole, scale.shard) : whole;

  // Check --assert keys before anything is sent, against a result these options would produce.
  const sloKeys: SloSpec = { ...slo };
  for (const r of requests) {
    if (r.slo?.ttftMs !== undefined) sloKeys.ttftMs ??= 0;
    if (r.slo?.tpotMs !== undefined) sloKeys.tpotMs ??= 0;
    if (r.slo?.tbtMs !== undefined) sloKeys.tbtMs ??= 0;
    if (r.slo?.e2elMs !== undefined) sloKeys.e2elMs ??= 0;
  }
  const metadataStub = { percentiles, api: opts.api, max_concurrency: opts.maxConcurrency ?? null } as unknown as RunMetadata;
  const template = buildRunResult([], { durationS: 0, percentiles, slo: sloKeys, deposit: opts.deposit, goodput, maxErrorRate: 1, maxScheduleLagMs: 1, interrupted: false, metadata: metadataStub });
  validateAssertions(asserts, template);

  return { requests, format, traceSha: await sha256File(traceFile), prompt, headers, traceRequests: whole.length, scale };
}

/** One replay of the trace against one endpoint; `primary` runs print and gate, comparison runs only return. */
async function replayOnce(
  ctx: CliContext,
  traceFile: string,
  opts: ReplayCliOptions,
  parsed: ParsedRun,
  run: RunInputs,
  embedded: EmbeddedEngine | null,
  endpointUrl: string,
  primary: boolean,
  onRun?: (result: RunResult, records: readonly RequestRecord[]) => Promise<void>,
): Promise<RunResult> {
  const { traceOpts, percentiles, slo, goodput, asserts } = parsed;
  const { requests, format, traceSha, prompt, headers } = run;
  const endpoint = parseEndpoint(endpointUrl);
  const cap = opts.maxConcurrency ?? Infinity;
  // A shard holds its part of the cap, so the shards together never exceed it.
  const maxConcurrency = run.scale.shard !== null ? capShare(cap, run.scale.shard) : cap;
  const config: ReplayConfig = {
    endpoint,
    api: opts.api,
    prompt,
    modelName: opts.modelName,
    headers,
    requests,
    maxConcurrency,
    requestTimeoutMs: opts.requestTimeoutS * 1000,
    slo,
    deposit: opts.deposit,
    goodput,
    percentiles,
    maxErrorRate: opts.maxErrorRate,
    maxScheduleLagMs: opts.maxScheduleLagMs,
    seed: traceOpts.seed,
    hashBlockTokens: DEFAULT_HASH_BLOCK_TOKENS,
    saveDetailed: opts.saveDetailed === true,
    startAt: run.scale.startAtMs !== null ? () => unixToHrMs(run.scale.startAtMs as number) : undefined,
    metadata: {
      command: ['orbitflow', ...ctx.argv.slice(2).map(redactArg)],
      trace: { file: traceFile, sha256: traceSha, format, requests: run.traceRequests },
      traceSeed: traceOpts.seed,
      extra: {
        shard: run.scale.shard === null ? null : { ...run.scale.shard, start_at_unix_ms: run.scale.startAtMs },
        workers: { count: run.scale.workers },
        max_concurrency: Number.isFinite(cap) ? cap : null,
      },
    },
  };

  // Progress: the ink view on a TTY (unless --json), plain stderr lines otherwise.
  const live = new LiveStats(requests.length, requests.reduce((m, r) => Math.max(m, r.arrivalS), 0));
  let elapsedMs = (): number => 0;
  const view: { started: Promise<LiveView> | null } = { started: null };
  let progressTimer: NodeJS.Timeout | null = null;
  const ac = new AbortController();
  const useInk = ctx.interactive && !opts.json;
  const hooks = new HookBus();
  hooks.subscribe({
    onStart({ t0Ms, clock }) {
      elapsedMs = () => clock.now() - t0Ms;
      if (useInk) {
        const title = `orbitflow replay ${basename(traceFile)} → ${endpoint.display}`;
        view.started = startInk(ctx, title, () => ({ ...live.snapshot(elapsedMs()), controllerLine: attached?.controller.liveLine() }), () => ac.abort());
      } else {
        progressTimer = setInterval(() => {
          ctx.stderr.write(`${formatProgressLine(live.snapshot(elapsedMs()))}\n`);
          if (attached) ctx.stderr.write(`  ${attached.controller.liveLine()}\n`);
        }, PROGRESS_EVERY_MS);
        progressTimer.unref();
      }
    },
    onRequestEvent(type, rec) {
      if (type === 'released') live.onReleased();
      else if (type === 'sent') live.onSent();
      else live.onDone(rec);
    },
    onTokenChunk: (rec) => live.onTokenChunk(rec),
  });

  // Engine telemetry (/metrics on the endpoint's origin), sampled while the run goes.
  const telemetry = primary ? attachTelemetry(ctx, opts, endpoint, headers, hooks) : null;
  // The feedback controller, when asked for (or by default) and the endpoint speaks the control protocol.
  const oneClient = run.scale.workers === 1 && run.scale.shard === null;
  if (!oneClient && primary && opts.controller === 'auto') ctx.stderr.write('orbitflow: controller off: it needs one client (not --workers N or --shard)\n');
  const attached = oneClient ? await startController(ctx, opts, embedded, endpointUrl, headers, requests, slo, traceOpts.seed, primary) : null;
  if (attached) hooks.subscribe(attached.controller.hooks);

  let finished!: Promise<RunResult>;
  const lost = opts.out !== undefined ? `the results (${RUN_OUTPUT_FILES.map((f) => join(opts.out!, f)).join(', ')})` : 'the summary';
  ctx.onInterrupt = async () => {
    ctx.finishing = { doing: 'finishing the interrupted run', lost };
    ac.abort();
    await finished;
  };
  finished = (async () => {
    let outcome;
    try {
      outcome = await runReplayWorkers(config, run.scale.workers, hooks, ac.signal);
    } finally {
      if (progressTimer !== null) clearInterval(progressTimer);
    }
    if (view.started !== null) await (await view.started).stop(live.snapshot(elapsedMs()));
    const result = outcome.result;
    await telemetry?.finish(result);
    const report = attached ? await attached.controller.stop(outcome.records) : controllerOff(attached === null ? controllerOffReason(opts, embedded) : 'off');
    result.controller = report;
    const turnedOff = report.enabled ? report.turned_off : null;
    if (opts.controller === 'on' && turnedOff) {
      // Asked for the controller and did not get it for the whole run.
      result.degraded = true;
      result.degraded_reasons.push(`--controller on, but the controller turned off mid-run (${turnedOff.reason})`);
    }
    if (!primary) {
      await onRun?.(result, outcome.records);
      return result;
    }
    result.assertions = checkAssertions(asserts, result);
    // The summary first: a failing write must never hide the result.
    await emit(ctx, result, opts.json);
    ctx.exitCode = exitCodeFor(ctx, result);
    if (opts.out !== undefined) {
      ctx.finishing = { doing: `writing ${result.interrupted ? 'partial ' : ''}results to ${opts.out}`, lost };
      if (result.interrupted) ctx.stderr.write(`orbitflow: interrupted: writing partial results to ${opts.out}…\n`);
      await writeRunOutputs(opts.out, result, outcome.records, runSummaryMarkdown(result));
      ctx.finishing = null;
    }
    await onRun?.(result, outcome.records);
    return result;
  })();
  return finished;
}

function controllerOffReason(opts: ReplayCliOptions, embedded: EmbeddedEngine | null): string {
  if (opts.controller === 'off') return '--controller off';
  if ((opts.workers as number | undefined) !== 1 || opts.shard !== undefined) return 'more than one client (--workers N or --shard)';
  if (!embedded && typeof opts.profile !== 'string') return 'no --profile for the controller to plan with';
  return 'the endpoint does not speak the OrbitFlow control protocol';
}

/** Attach the controller per --controller, saying once at start-up when it stays off and why. */
async function startController(
  ctx: CliContext,
  opts: ReplayCliOptions,
  embedded: EmbeddedEngine | null,
  endpointUrl: string,
  headers: Record<string, string>,
  requests: readonly TraceRequest[],
  slo: SloSpec,
  seed: number,
  primary: boolean,
): Promise<{ controller: AttachedController } | null> {
  if (!primary || opts.controller === 'off') return null;
  const inputs = controllerInputs(opts, embedded);
  const say = (why: string): null => {
    if (opts.controller === 'on') throw new OrbitflowError('OF_REPLAY_CONTROLLER', `--controller on: ${why}`);
    ctx.stderr.write(`orbitflow: controller off: ${why}\n`);
    return null;
  };
  if (!inputs) return say('no --profile for the controller to plan with (give --profile FILE and --model M)');
  const controller = await attachController({
    endpoint: parseEndpoint(endpointUrl),
    headers,
    api: opts.api,
    model: inputs.model,
    profile: inputs.profile,
    tp: (opts.tp as number | undefined) ?? 1,
    requests,
    sloMs: slo.tbtMs ?? slo.tpotMs,
    seed,
    onError: (e) => ctx.stderr.write(`orbitflow: controller: ${redact(e.message)}\n`),
    onOff: (reason) => ctx.stderr.write(`orbitflow: controller off for the rest of the run: ${redact(reason)}\n`),
  });
  if (!controller) return say(`${endpointUrl} does not speak the OrbitFlow control protocol (GET /orbitflow/v1/state)`);
  ctx.stderr.write(`orbitflow: controller on: planning for ${inputs.model.id} with profile ${inputs.profile.id}\n`);
  return { controller };
}

function startInk(ctx: CliContext, title: string, snapshot: Parameters<typeof import('../ui/live-view.js').startLiveView>[2], onQuit: () => void): Promise<LiveView> {
  return import('../ui/live-view.js').then((m) => m.startLiveView(ctx.stdout as NodeJS.WriteStream, title, snapshot, onQuit));
}

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

async function emit(ctx: CliContext, result: RunResult, json: boolean): Promise<void> {
  await write(ctx.stdout, redact(json ? `${JSON.stringify(result, null, 2)}\n` : formatRunSummary(result)));
}

/** A bug that stopped the run (70) wins, then an interrupt (130), then a run error (4: degraded), then a failed assertion (1). */
function exitCodeFor(ctx: CliContext, result: RunResult): number {
  if (result.internal_error !== null) {
    ctx.stderr.write(`orbitflow: internal error (please report it, with the command line): ${redact(result.internal_error)}; the run was stopped and its partial results kept\n`);
    return ExitCode.internal;
  }
  // A signal exits 130 in main(); `q` / Ctrl-C in the live view stops the run without one.
  if (result.interrupted) return ExitCode.interrupted;
  const failedAsserts = result.assertions.filter((a) => !a.passed);
  for (const a of failedAsserts) ctx.stderr.write(`orbitflow: assertion failed: ${a.expr} (actual ${a.actual === null ? 'n/a' : a.actual})\n`);
  if (result.degraded) {
    ctx.stderr.write(`orbitflow: run degraded: ${redact(result.degraded_reasons.join('; '))}\n`);
    return ExitCode.untrustworthy;
  }
  return failedAsserts.length > 0 ? ExitCode.assertFailed : ExitCode.ok;
}

async function dryRun(ctx: CliContext, traceFile: string, traceOpts: ReturnType<typeof traceOptionsFrom>, json: boolean): Promise<void> {
  const summary = await summariseTrace(traceFile, traceOpts);
  const text = json ? JSON.stringify(traceSummaryJson(summary), null, 2) : formatTraceSummary(summary);
  await write(ctx.stdout, text.endsWith('\n') ? text : `${text}\n`);
}
