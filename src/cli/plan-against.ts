import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ExitCode, OrbitflowError, usageError } from '../core/errors.js';
import { findModel, resolveModel } from '../core/model-catalogue.js';
import { GIB } from '../core/units.js';
import { VERSION } from '../core/version.js';
import { BASELINE_POLICIES, isBaselinePolicy, type BaselinePolicy } from '../cost/baselines.js';
import { CostModel } from '../cost/cost-model.js';
import { ENGINE_DEFAULTS } from '../engine/engine-core.js';
import { runVirtual } from '../engine/virtual-run.js';
import { FITTED_STEP_OVERHEAD_MS, provenanceLine, type Profile } from '../core/profile-format.js';
import { readRunDir, type RunDir } from '../profile/from-run/run-dir.js';
import { loadProfile } from '../profile/load.js';
import { checkAssertions, knownKeysOf, parseAssertion, validateAssertions } from '../replay/assertions.js';
import { sha256File } from '../replay/file-hash.js';
import type { Telemetry } from '../replay/telemetry/timeline.js';
import { openTrace } from '../trace/open.js';
import type { TraceRequest } from '../core/trace-request.js';
import { validationTable } from '../ui/validation-table.js';
import { err, out, type CliContext } from './context.js';
import { traceOptionsFrom } from './trace-options.js';
import type { GivenOnCommandLine, PlanCliOptions } from './plan-options.js';
import { buildValidation, recordFromLine, recordFromSimulated, validationTemplate, type ValidationReport } from './validation-report.js';

/** The policy of a stock vLLM: everything on the GPU, recompute preemption. */
export const DEFAULT_AGAINST_POLICY: BaselinePolicy = 'gpu-only';
/** No queue was ever seen: any limit at or above the peak behaves alike; this one is vLLM's V0 default. */
const UNBOUNDED_SEQS = 256;

function refuse(message: string): never {
  throw new OrbitflowError('OF_PLAN_AGAINST', message);
}

/** The replay's own requests, from the trace read with the options given: every one must be the one replayed. */
function matchRequests(trace: readonly TraceRequest[], run: RunDir, traceFile: string): TraceRequest[] {
  const byIndex = new Map(trace.map((r) => [r.index, r]));
  const cmd = run.result.metadata.command?.join(' ') ?? 'see result.json';
  const issued = run.lines.filter((l) => l.status !== 'not_issued');
  for (const l of issued) {
    const t = byIndex.get(l.index);
    const same = t !== undefined && Math.abs(t.arrivalS - l.arrival_s) < 1e-6 && t.inputTokens === l.input_tokens && t.outputTokens === l.expected_output_tokens;
    if (!same) {
      refuse(
        `--against ${run.dir}: request ${l.index} of ${traceFile} read with these options (${t ? `arrival ${t.arrivalS} s, ${t.inputTokens} in, ${t.outputTokens} out` : 'absent'}) is not the one replayed (arrival ${l.arrival_s} s, ${l.input_tokens} in, ${l.expected_output_tokens} out): give the replay's trace options (it ran: ${cmd})`,
      );
    }
  }
  // Each arrives when the replay sent it (its due time plus the client's lag: a burst leaves the
  // client over a few ms, and the engine batches what it has); ids unique, to map back by index.
  const sent = new Map(issued.map((l) => [l.index, l.sent_ms]));
  return trace
    .filter((r) => sent.has(r.index))
    .map((r) => {
      const s = sent.get(r.index);
      return { ...r, id: `i${r.index}`, arrivalS: s === null || s === undefined ? r.arrivalS : s / 1000 };
    });
}

interface Derived<T> {
  value: T;
  source: string;
}

function budgetOf(opts: PlanCliOptions, cost: CostModel, telemetry: Telemetry | undefined): Derived<number> {
  const blocks = opts.gpuKvBlocks;
  const gib = opts.gpuKvGib;
  if (blocks !== undefined) return { value: Math.floor(blocks), source: '--gpu-kv-blocks' };
  if (gib !== undefined) return { value: cost.budgetBlocksFromGiB(gib), source: '--gpu-kv-gib' };
  const cap = telemetry?.enabled ? telemetry.summary.kv_capacity : null;
  if (cap?.layer_blocks) return { value: cap.layer_blocks, source: "the engine's telemetry (orbitflow:gpu_kv_blocks_total)" };
  if (cap?.tokens) return { value: Math.ceil(cap.tokens / 16) * cost.layers, source: `the engine's telemetry (${cap.tokens} tokens of KV)` };
  return refuse('--against: the run\'s telemetry does not say the engine\'s KV capacity: give --gpu-kv-gib GiB (or --gpu-kv-blocks N)');
}

function maxSeqsOf(opts: PlanCliOptions, telemetry: Telemetry | undefined, measuredPeak: number): Derived<number> {
  const given = opts.maxNumSeqs;
  if (given !== undefined) return { value: given, source: '--max-num-seqs' };
  if (telemetry?.enabled && telemetry.samples > 0) {
    const peak = telemetry.summary.peak_running ?? 0;
    // The engine queued with that many running and memory to spare: its sequence limit.
    const bound = telemetry.timeline.some((p) => (p.waiting ?? 0) > 0 && p.running === peak && (p.kv_usage ?? 0) < 0.9);
    if (bound && peak > 0) return { value: peak, source: `the engine's telemetry (it queued at ${peak} running with KV to spare)` };
    return { value: Math.max(UNBOUNDED_SEQS, peak, measuredPeak), source: `the engine never queued for a sequence slot: ${UNBOUNDED_SEQS} (any limit ≥ the peak ${peak} behaves alike)` };
  }
  return { value: ENGINE_DEFAULTS.maxNumSeqs, source: 'the reference engine\'s default (no telemetry in the run: give --max-num-seqs)' };
}

/**
 * `plan --trace TRACE --against DIR`: simulate the very requests a replay sent (same trace,
 * window, transforms, seed) on the reference engine with the profile given (a fitted one, from
 * `profile --from-run DIR`) and the policy matching the endpoint, then put the prediction next to
 * the measurement, number by number (`orbitflow.validation/v1`).
 */
export async function runPlanAgainst(opts: PlanCliOptions, ctx: CliContext, given: GivenOnCommandLine): Promise<void> {
  const traceFile = opts.trace!;
  const against = opts.against!;
  const policyGiven = given('policy');
  if (opts.profile === undefined) throw usageError('--profile', 'a profile file is required with --against (a fitted one: orbitflow profile --from-run DIR)');
  const asserts = (opts.assert ?? []).map(parseAssertion);
  const policyName = policyGiven ? opts.policy : DEFAULT_AGAINST_POLICY;
  // A baseline, or `external`: the reference engine's own default with no controller attached.
  if (!isBaselinePolicy(policyName) && policyName !== 'external') {
    throw usageError('--policy', `with --against, the endpoint's own policy: one of ${BASELINE_POLICIES.join(', ')}, or external (the reference engine's default, no controller) (default ${DEFAULT_AGAINST_POLICY}, a stock vLLM); got '${policyName}'`);
  }
  const loaded = loadProfile(opts.profile);
  const profile: Profile = loaded.profile;
  const fitted = profile.provenance.kind === 'fitted';
  const model = resolveModel({
    model: opts.model ?? (opts.modelConfig === undefined && profile.decode.fit.form === 'linear' ? profile.decode.fit.model : undefined),
    modelConfig: opts.modelConfig,
  });
  // The fit's TP unless --tp says otherwise (its default, 1, is not a choice made for this run).
  const tp = given('tp') ? opts.tp : (profile.provenance.fit?.tp ?? opts.tp);
  const cost = new CostModel(model, profile, { tp, modelLookup: findModel });

  const run = await readRunDir(resolve(ctx.cwd, against));
  run.dir = against;
  if (run.withChunkTimes === 0) refuse(`${against}/requests.jsonl: no per-chunk times (chunk_ms): nothing to compare with`);
  const recorded = run.result.metadata.trace;
  const traceSha = await sha256File(traceFile);
  if (recorded && recorded.sha256 !== traceSha) refuse(`--against ${against}: ${traceFile} is not the trace replayed (${recorded.file}, sha256 ${recorded.sha256.slice(0, 12)}…, this one ${traceSha.slice(0, 12)}…)`);
  const opened = openTrace(traceFile, traceOptionsFrom(opts));
  const all: TraceRequest[] = [];
  for await (const r of opened.requests()) all.push(r);
  const requests = matchRequests(all, run, traceFile);
  if (requests.length === 0) refuse(`--against ${against}: the replay issued no request`);

  const telemetry = run.result.telemetry as Telemetry | undefined;
  const measured = run.lines.filter((l) => l.status !== 'not_issued').map(recordFromLine);
  const measuredPeak = typeof run.result.max_concurrent_requests === 'number' ? run.result.max_concurrent_requests : 0;
  const budget = budgetOf(opts, cost, telemetry);
  const seqs = maxSeqsOf(opts, telemetry, measuredPeak);
  const noiseGiven = opts.noiseCv;
  const noise: Derived<number> = noiseGiven !== undefined
    ? { value: noiseGiven, source: '--noise-cv' }
    : fitted && profile.provenance.fit ? { value: profile.provenance.fit.residual_cv, source: 'the fit\'s residual spread' } : { value: ENGINE_DEFAULTS.noiseCv, source: 'the reference engine\'s default' };
  const overheadGiven = opts.stepOverheadMs;
  const stepOverheadMs = overheadGiven ?? (fitted ? FITTED_STEP_OVERHEAD_MS : ENGINE_DEFAULTS.stepOverheadMs);
  const seed = opts.seed;
  const hostKvGib = opts.hostKvGib;

  const simulation = {
    model: model.id,
    tp,
    policy: policyName,
    policy_source: policyGiven ? '--policy' : `default (${DEFAULT_AGAINST_POLICY}: a stock vLLM)`,
    budget_blocks: budget.value,
    budget_gib: (budget.value * cost.blockBytes) / GIB,
    budget_source: budget.source,
    max_num_seqs: seqs.value,
    max_num_seqs_source: seqs.source,
    noise_cv: +noise.value.toPrecision(4),
    noise_cv_source: noise.source,
    step_overhead_ms: stepOverheadMs,
    step_overhead_source: overheadGiven !== undefined ? '--step-overhead-ms' : fitted ? 'a fitted base includes it' : "the reference engine's default",
    seed,
    completed: 0,
    duration_s: 0,
  };
  const created = new Date().toISOString();
  const base = {
    created,
    tool: `orbitflow ${VERSION}`,
    profile: { id: profile.id, file: loaded.file, sha256: loaded.sha256, provenance_kind: profile.provenance.kind, provenance: provenanceLine(profile) },
    run: {
      dir: against,
      endpoint: run.result.metadata.endpoint ?? null,
      trace_file: recorded?.file ?? null,
      trace_sha256: recorded?.sha256 ?? null,
      requests: measured.length,
      completed: measured.filter((r) => r.status === 'ok').length,
      duration_s: run.result.duration,
    },
    simulation,
  };
  // --assert keys checked before the simulation, against a report of the same shape.
  validateAssertions(asserts, knownKeysOf(validationTemplate()));

  err(ctx, `simulating the ${requests.length} requests of ${against} on the reference engine (virtual time, policy ${policyName})`);
  const sim = await runVirtual(requests, {
    cost,
    policy: policyName,
    budgetBlocks: budget.value,
    hostBlocks: hostKvGib !== undefined ? cost.budgetBlocksFromGiB(hostKvGib) : undefined,
    maxNumSeqs: seqs.value,
    noiseCv: noise.value,
    seed,
    stepOverheadMs,
  });
  const predicted = sim.requests.map((r) => recordFromSimulated(r, Number(r.id.slice(1))));
  simulation.completed = predicted.filter((r) => r.status === 'ok').length;
  simulation.duration_s = sim.makespanMs / 1000;
  const report: ValidationReport = buildValidation({ ...base, measured, measuredDurationS: run.result.duration, predicted, predictedDurationS: sim.makespanMs / 1000 });
  report.assertions = checkAssertions(asserts, report);

  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (opts.out !== undefined) {
    try {
      writeFileSync(resolve(ctx.cwd, opts.out), json);
    } catch (e) {
      throw new OrbitflowError('OF_PLAN_OUT', `--out: cannot write ${opts.out} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  if (opts.json) out(ctx, json.trimEnd());
  else ctx.stdout.write(validationTable(report));
  const failed = report.assertions.filter((a) => !a.passed);
  for (const a of failed) ctx.stderr.write(`orbitflow: assertion failed: ${a.expr} (actual ${a.actual === null ? 'n/a' : a.actual})\n`);
  ctx.exitCode = failed.length > 0 ? ExitCode.assertFailed : ExitCode.ok;
}
