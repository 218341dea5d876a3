import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { ExitCode, OrbitflowError } from '../core/errors.js';
import { loadTrace } from '../trace/open.js';
import { formatTraceSummary, summariseTrace, traceSummaryJson } from '../trace/summary.js';
import type { TraceOptions } from '../trace/options.js';
import type { TraceRequest } from '../core/trace-request.js';
import { checkAssertions, validateAssertions } from '../replay/assertions.js';
import { parseEndpoint } from '../replay/endpoint.js';
import { sha256File } from '../replay/file-hash.js';
import { LiveStats } from '../replay/live-stats.js';
import { scoredSloMetrics } from '../replay/metrics-slo.js';
import { RUN_OUTPUT_FILES, writeRunOutputs } from '../replay/outputs.js';
import { prepareOutputDir } from '../core/output-files.js';
import { redact } from '../core/redact.js';
import { DEFAULT_HASH_BLOCK_TOKENS } from '../replay/prompt.js';
import { runResultKeys } from '../replay/result-keys.js';
import type { RunResult } from '../replay/run-result.js';
import type { ReplayConfig } from '../replay/run-replay.js';
import { HookBus } from '../replay/hook-bus.js';
import { runReplayWorkers } from '../replay/run-workers.js';
import { capShare, shareOf } from '../replay/shard.js';
import { unixToHrMs } from '../replay/clock.js';
import type { RequestRecord } from '../replay/request-record.js';
import { buildReplayReport, type ReplayRun } from '../report/replay-report.js';
import { checkReportTargets, reportTargets, writeReports } from './report-output.js';
import { formatProgressLine } from '../ui/progress-line.js';
import { formatRunSummary, runSummaryMarkdown } from '../ui/run-summary.js';
import type { LiveView } from '../ui/live-view.js';
import type { CliContext } from './context.js';
import { addOptionTable } from './option-table.js';
import { resolveModel } from '../core/model-catalogue.js';
import type { ModelSpec } from '../core/model-spec.js';
import { provenanceLine, type Profile } from '../core/profile-format.js';
import { loadProfile } from '../profile/load.js';
import { attachController, type AttachedController } from './replay-controller.js';
import { controllerOff } from '../controller/run-report.js';
import { formatComparison, type CompareRow } from '../ui/compare-table.js';
import { attachTelemetry } from './replay-telemetry.js';
import { startEmbeddedEngine, type EmbeddedEngine } from './replay-engine.js';
import { resolveReplayConfig, type ReplayCommandConfig } from './replay-config.js';
import { REPLAY_OPTIONS, type ReplayCliOptions } from './replay-options.js';

/** Plain progress lines (no live view) at most this often. */
const PROGRESS_EVERY_MS = 5000;

export function registerReplay(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('replay')
    .description(
      'Replay a request trace against an OpenAI-compatible endpoint on its absolute arrival schedule, streaming every request, and report vLLM-compatible metrics, SLO attainment (with Token-Deposit), and CI gates.',
    )
    .argument('<trace>', 'trace file: Azure 2023 CSV, Mooncake JSONL, BurstGPT CSV, OrbitFlow artifact JSON, or generic CSV/JSONL');
  addOptionTable(cmd, REPLAY_OPTIONS).action(async (trace: string, opts: ReplayCliOptions) => {
    await replayCommand(ctx, resolveReplayConfig(ctx, trace, opts, Date.now()));
  });
}

function redactArg(arg: string): string {
  return arg.replace(/(\/\/)[^/@\s]+@/g, '$1***@');
}

async function readTrace(file: string, opts: TraceOptions, ctx: CliContext): Promise<{ requests: TraceRequest[]; format: string }> {
  // Read whole before t0: parsing during the run would compete with the pacer.
  const { requests, stats, format } = await loadTrace(file, opts);
  for (const w of stats.warnings) ctx.stderr.write(`orbitflow: ${file}: ${w}\n`);
  return { requests, format };
}

async function replayCommand(ctx: CliContext, config: ReplayCommandConfig): Promise<void> {
  if (config.dryRun) {
    await dryRun(ctx, config);
    return;
  }
  // Before anything is read or sent: a run must never end unable to keep what it measured.
  if (config.out !== undefined) prepareOutputDir(config.out, '--out');
  checkReportTargets(config.report);
  const run = await prepareRun(ctx, config);
  // The HTML report: written at the end, or at once when a run is interrupted (finished work is kept).
  const runs: ReplayRun[] = [];
  const targets = reportTargets(config.report, config.out);
  const report = (): Promise<void> =>
    writeReports(ctx, targets, () =>
      buildReplayReport(
        {
          primary: runs[0],
          compare: runs.slice(1),
          context: reportContext(config, embedded),
          comparisonText: runs.length > 1 ? formatComparison(runs.map((r) => ({ policy: r.label, result: r.result }))) : undefined,
        },
        { maxScheduleLagMs: config.scoring.maxScheduleLagMs },
      ),
    );
  const onRun = async (label: string, r: ReplayRun['result'], records: readonly RequestRecord[]): Promise<void> => {
    runs.push({ label, result: r, records });
    if (r.interrupted) await report();
  };
  const embedded = config.endpoint === undefined ? await startEmbeddedEngine(config.embedded) : null;
  if (embedded) ctx.stderr.write(`orbitflow: ${embedded.description}\n`);
  let result: RunResult;
  try {
    result = await replayOnce(ctx, config, run, embedded, embedded ? embedded.server.url : config.endpoint!, 'primary', (r, records) =>
      onRun(config.comparePolicies.length > 0 ? 'orbitflow (controller)' : 'this run', r, records),
    );
  } finally {
    await embedded?.server.close();
  }
  if (result.interrupted) return;
  if (config.comparePolicies.length === 0) {
    await report();
    return;
  }
  const rows: CompareRow[] = [{ policy: 'orbitflow (controller)', result }];
  for (const policy of config.comparePolicies) {
    const engine = await startEmbeddedEngine(config.embedded, policy);
    ctx.stderr.write(`orbitflow: --compare: ${engine.description}\n`);
    try {
      const r = await replayOnce(ctx, config, run, engine, engine.server.url, 'comparison', (x, records) => onRun(policy, x, records));
      rows.push({ policy, result: r });
      if (r.interrupted) break;
    } finally {
      await engine.server.close();
    }
  }
  await write(config.json ? ctx.stderr : ctx.stdout, formatComparison(rows));
  if (!rows[rows.length - 1].result.interrupted) await report();
}

/** The report's header lines the result does not hold: which engine ran, on which profile. */
function reportContext(config: ReplayCommandConfig, embedded: EmbeddedEngine | null): Array<[string, string]> {
  if (embedded) return [['Engine', embedded.description]];
  if (config.controller.profileFile !== undefined) return [['Controller profile', provenanceLine(loadProfile(config.controller.profileFile).profile)]];
  return [];
}

/** The model and profile the controller plans with: given, or the embedded engine's. */
function controllerInputs(config: ReplayCommandConfig, embedded: EmbeddedEngine | null): { model: ModelSpec; profile: Profile } | null {
  const { profileFile, model } = config.controller;
  if (profileFile !== undefined) return { model: resolveModel({ model }), profile: loadProfile(profileFile).profile };
  if (embedded) return { model: embedded.model, profile: embedded.profile.profile };
  return null;
}

/** What every run of the command shares, read and checked before any engine starts or request is sent. */
interface RunInputs {
  requests: TraceRequest[];
  format: string;
  traceSha: string;
  /** Requests in the whole trace (`requests` is this shard's share). */
  traceRequests: number;
}

async function prepareRun(ctx: CliContext, config: ReplayCommandConfig): Promise<RunInputs> {
  const { scoring, scale } = config;
  const { requests: whole, format } = await readTrace(config.traceFile, config.traceOpts, ctx);
  const requests = scale.shard !== null ? shareOf(whole, scale.shard) : whole;
  // --assert keys, before anything is sent: against the keys a run of these options on this trace reports.
  const scored = scoredSloMetrics(scoring.slo, requests);
  const shape = { percentiles: scoring.percentiles, slo: scoring.slo, scored, deposit: scoring.deposit, goodput: scoring.goodput !== undefined, capped: config.client.maxConcurrency !== undefined };
  validateAssertions(config.asserts, runResultKeys(shape));
  return { requests, format, traceSha: await sha256File(config.traceFile), traceRequests: whole.length };
}

/**
 * One replay of the trace against one endpoint: the primary run prints, writes and gates; a
 * comparison run (--compare) only returns its result.
 */
async function replayOnce(
  ctx: CliContext,
  config: ReplayCommandConfig,
  run: RunInputs,
  embedded: EmbeddedEngine | null,
  endpointUrl: string,
  role: 'primary' | 'comparison',
  onRun?: (result: RunResult, records: readonly RequestRecord[]) => Promise<void>,
): Promise<RunResult> {
  const primary = role === 'primary';
  const { scoring, client, scale, traceOpts } = config;
  const { startAtMs } = scale;
  const { requests, format, traceSha } = run;
  const headers = { ...client.headers };
  const out = primary ? config.out : undefined;
  const json = primary && config.json;
  const endpoint = parseEndpoint(endpointUrl);
  const cap = client.maxConcurrency ?? Infinity;
  // A shard holds its part of the cap, so the shards together never exceed it.
  const maxConcurrency = scale.shard !== null ? capShare(cap, scale.shard) : cap;
  const runConfig: ReplayConfig = {
    endpoint,
    api: client.api,
    prompt: client.prompt,
    modelName: client.modelName,
    headers,
    requests,
    maxConcurrency,
    requestTimeoutMs: client.requestTimeoutS * 1000,
    slo: scoring.slo,
    deposit: scoring.deposit,
    goodput: scoring.goodput,
    percentiles: [...scoring.percentiles],
    maxErrorRate: scoring.maxErrorRate,
    maxScheduleLagMs: scoring.maxScheduleLagMs,
    seed: traceOpts.seed,
    hashBlockTokens: DEFAULT_HASH_BLOCK_TOKENS,
    saveDetailed: config.saveDetailed,
    startAt: startAtMs !== null ? () => unixToHrMs(startAtMs) : undefined,
    metadata: {
      command: ['orbitflow', ...ctx.argv.slice(2).map(redactArg)],
      trace: { file: config.traceFile, sha256: traceSha, format, requests: run.traceRequests },
      traceSeed: traceOpts.seed,
      extra: {
        shard: scale.shard === null ? null : { ...scale.shard, start_at_unix_ms: scale.startAtMs },
        workers: { count: scale.workers },
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
  const useInk = ctx.interactive && !json;
  const hooks = new HookBus();
  hooks.subscribe({
    onStart({ t0Ms, clock }) {
      elapsedMs = () => clock.now() - t0Ms;
      if (useInk) {
        const title = `orbitflow replay ${basename(config.traceFile)} → ${endpoint.display}`;
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
  const telemetry = primary ? attachTelemetry(ctx, config.telemetry, endpoint, headers, hooks) : null;
  // The feedback controller, when asked for (or by default) and the endpoint speaks the control protocol.
  const oneClient = scale.workers === 1 && scale.shard === null;
  const mode = config.controller.mode;
  if (!oneClient && primary && mode === 'auto') ctx.stderr.write('orbitflow: controller off: it needs one client (not --workers N or --shard)\n');
  const attached = oneClient && primary ? await startController(ctx, config, embedded, endpointUrl, headers, requests) : null;
  if (attached) hooks.subscribe(attached.controller.hooks);

  let finished!: Promise<RunResult>;
  const lost = out !== undefined ? `the results (${RUN_OUTPUT_FILES.map((f) => join(out, f)).join(', ')})` : 'the summary';
  ctx.onInterrupt = async () => {
    ctx.finishing = { doing: 'finishing the interrupted run', lost };
    ac.abort();
    await finished;
  };
  finished = (async () => {
    let outcome;
    try {
      outcome = await runReplayWorkers(runConfig, scale.workers, hooks, ac.signal);
    } finally {
      if (progressTimer !== null) clearInterval(progressTimer);
    }
    if (view.started !== null) await (await view.started).stop(live.snapshot(elapsedMs()));
    const result = outcome.result;
    await telemetry?.finish(result);
    const report = attached ? await attached.controller.stop(outcome.records) : controllerOff(controllerOffReason(config, embedded, primary));
    result.controller = report;
    const turnedOff = report.enabled ? report.turned_off : null;
    if (mode === 'on' && turnedOff) {
      // Asked for the controller and did not get it for the whole run.
      result.degraded = true;
      result.degraded_reasons.push(`--controller on, but the controller turned off mid-run (${turnedOff.reason})`);
    }
    if (!primary) {
      await onRun?.(result, outcome.records);
      return result;
    }
    result.assertions = checkAssertions(config.asserts, result);
    // The summary first: a failing write must never hide the result.
    await emit(ctx, result, json);
    ctx.exitCode = exitCodeFor(ctx, result);
    if (out !== undefined) {
      ctx.finishing = { doing: `writing ${result.interrupted ? 'partial ' : ''}results to ${out}`, lost };
      if (result.interrupted) ctx.stderr.write(`orbitflow: interrupted: writing partial results to ${out}…\n`);
      await writeRunOutputs(out, result, outcome.records, runSummaryMarkdown(result));
      ctx.finishing = null;
    }
    await onRun?.(result, outcome.records);
    return result;
  })();
  return finished;
}

function controllerOffReason(config: ReplayCommandConfig, embedded: EmbeddedEngine | null, primary: boolean): string {
  if (!primary) return 'a --compare run: the engine\'s own static policy';
  if (config.controller.mode === 'off') return '--controller off';
  if (config.scale.workers !== 1 || config.scale.shard !== null) return 'more than one client (--workers N or --shard)';
  if (!embedded && config.controller.profileFile === undefined) return 'no --profile for the controller to plan with';
  return 'the endpoint does not speak the OrbitFlow control protocol';
}

/** Attach the controller per --controller, saying once at start-up when it stays off and why. */
async function startController(
  ctx: CliContext,
  config: ReplayCommandConfig,
  embedded: EmbeddedEngine | null,
  endpointUrl: string,
  headers: Record<string, string>,
  requests: readonly TraceRequest[],
): Promise<{ controller: AttachedController } | null> {
  const { mode, tp } = config.controller;
  if (mode === 'off') return null;
  const inputs = controllerInputs(config, embedded);
  const say = (why: string): null => {
    if (mode === 'on') throw new OrbitflowError('OF_REPLAY_CONTROLLER', `--controller on: ${why}`);
    ctx.stderr.write(`orbitflow: controller off: ${why}\n`);
    return null;
  };
  if (!inputs) return say('no --profile for the controller to plan with (give --profile FILE and --model M)');
  const { slo } = config.scoring;
  const controller = await attachController({
    endpoint: parseEndpoint(endpointUrl),
    headers,
    api: config.client.api,
    model: inputs.model,
    profile: inputs.profile,
    tp,
    requests,
    sloMs: slo.tbtMs ?? slo.tpotMs,
    seed: config.traceOpts.seed,
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

async function dryRun(ctx: CliContext, config: ReplayCommandConfig): Promise<void> {
  const summary = await summariseTrace(config.traceFile, config.traceOpts);
  const text = config.json ? JSON.stringify(traceSummaryJson(summary), null, 2) : formatTraceSummary(summary);
  await write(ctx.stdout, text.endsWith('\n') ? text : `${text}\n`);
}
