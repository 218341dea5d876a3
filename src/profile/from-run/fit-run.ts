import { basename } from 'node:path';
import { OrbitflowError } from '../../core/errors.js';
import type { ModelSpec } from '../../core/model-spec.js';
import { VERSION } from '../../core/version.js';
import { CostModel } from '../../cost/cost-model.js';
import { findModel } from '../../core/model-catalogue.js';
import { PROFILE_SCHEMA, type FitRecord, type LinearDecodeFit, type Profile } from '../../core/profile-format.js';
import type { LoadedProfile } from '../load.js';
import { fitDecodeFromGaps, type DecodeFitOutcome } from './decode-fit.js';
import { fitPrefillEfficiency, type PrefillFitOutcome } from './prefill-fit.js';
import { reconstruct, type Reconstruction, type TelemetryRunning } from './reconstruct.js';
import type { RunDir } from './run-dir.js';

/**
 * `profile --from-run DIR`: from a replay's per-chunk times to an `orbitflow.profile/v1` of kind
 * `fitted`. The decode model and the prefill efficiency are fitted; what a replay cannot see from
 * the outside (the host↔GPU link, the GPU's dense TFLOPs the efficiency is relative to) is kept
 * from the base profile, and the profile says so.
 */
export interface FitRunOptions {
  model: ModelSpec;
  tp: number;
  base: LoadedProfile;
  /** Profile id; default `fitted-<model>-<endpoint host and port>`. */
  id?: string;
  created?: Date;
}

export interface FitRunOutcome {
  profile: Profile;
  recon: Reconstruction;
  decode: DecodeFitOutcome;
  prefill: PrefillFitOutcome;
  telemetryAgreement: number | null;
}

/** Fewer reconstructed decode steps than this cannot pin three coefficients. */
export const MIN_DECODE_SAMPLES = 50;

function refuse(message: string, file: string): never {
  throw new OrbitflowError('OF_FROM_RUN', message, { context: { file } });
}

function telemetryTimeline(run: RunDir): TelemetryRunning[] | null {
  const t = run.result.telemetry as { enabled?: boolean; timeline?: unknown } | undefined;
  if (!t || t.enabled !== true || !Array.isArray(t.timeline)) return null;
  return (t.timeline as TelemetryRunning[]).filter((p) => typeof p?.t_s === 'number');
}

function defaultId(model: ModelSpec, endpoint: string): string {
  let where = 'endpoint';
  try {
    const u = new URL(endpoint);
    where = `${u.hostname}-${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    // an embedded run has no URL
  }
  return `fitted-${model.id}-${where}`.replace(/[^A-Za-z0-9._-]+/g, '-');
}

const round = (x: number, d = 6): number => Number(x.toPrecision(d));

export function fitRun(run: RunDir, o: FitRunOptions): FitRunOutcome {
  const requestsFile = `${run.dir}/requests.jsonl`;
  if (run.withChunkTimes === 0) refuse(`${requestsFile}: no per-chunk times (chunk_ms) in any request: this run cannot be fitted`, requestsFile);
  const issued = run.lines.filter((l) => l.status !== 'not_issued');
  const ok = issued.filter((l) => l.status === 'ok');
  if (ok.length === 0) refuse(`${run.dir}: every request failed (${issued.length} of ${issued.length}): nothing to fit`, run.dir);
  const base = o.base.profile;
  const tflops = base.provenance.gpu.dense_tflops;
  if (!tflops) refuse(`${o.base.file}: provenance.gpu.dense_tflops: missing (--base must say the GPU's dense TFLOPs for the prefill fit)`, o.base.file);

  const telemetry = telemetryTimeline(run);
  const recon = reconstruct(run.lines, telemetry);
  if (recon.decode.length < MIN_DECODE_SAMPLES) {
    refuse(`${run.dir}: only ${recon.decode.length} decode steps could be reconstructed (at least ${MIN_DECODE_SAMPLES} are needed): replay more requests or a longer window`, run.dir);
  }
  const L = o.model.layers;
  const decode = fitDecodeFromGaps(recon.decode, L);
  const withTel = recon.decode.filter((s) => s.telemetryRunning !== null);
  const telemetryAgreement = withTel.length === 0 ? null : withTel.filter((s) => Math.abs(s.batch - (s.telemetryRunning as number)) <= 1).length / withTel.length;

  const endpoint = run.result.metadata.endpoint ?? 'the embedded reference engine';
  const fit: LinearDecodeFit = {
    form: 'linear',
    model: o.model.id,
    tp: o.tp,
    base_ms: round(decode.baseMs),
    per_seq_ms: round(decode.perSeqMs),
    per_token_ms: round(decode.perTokenMs),
    r2: round(decode.r2, 4),
    method: `robust (Huber IRLS, non-negative) regression of ${decode.samples} decode gaps (${decode.steps} engine steps) on (1, batch, Σ context) reconstructed from per-chunk times, divided by L = ${L}${decode.perSeqDropped ? '; the per-sequence term dropped (not supported by the data, BIC over the steps)' : ''}; base_ms includes the engine's fixed per-step overhead`,
    source: `replay of ${endpoint} (${run.dir})`,
  };
  const draft = (efficiency: number): Profile => ({
    schema: PROFILE_SCHEMA,
    id: o.id ?? defaultId(o.model, endpoint),
    provenance: { ...base.provenance, kind: 'fitted', assumptions: [], probe: undefined },
    transfer: base.transfer,
    decode: { fit, upper_fit: { ...fit, base_ms: round(decode.baseMs + decode.p99ResidualMs / L), method: `${fit.method}; intercept raised by the 99th-percentile residual (${decode.p99ResidualMs.toFixed(3)} ms per step)` }, prefill_efficiency: efficiency },
  });
  let cached: { eff: number; cost: CostModel } | null = null;
  const predict = (eff: number, prompts: readonly number[]): number => {
    if (cached === null || cached.eff !== eff) cached = { eff, cost: new CostModel(o.model, draft(eff), { tp: o.tp, modelLookup: findModel }) };
    let ms = 0;
    for (const n of prompts) ms += cached.cost.prefillMs(n);
    return ms;
  };
  const prefill = fitPrefillEfficiency(recon.prefill, predict, base.decode.prefill_efficiency);

  const created = (o.created ?? new Date()).toISOString();
  const trace = run.result.metadata.trace ?? null;
  const record: FitRecord = {
    endpoint,
    model: o.model.id,
    tp: o.tp,
    run_dir: run.dir,
    run_start: run.result.metadata.start_time ?? null,
    trace: trace ? { file: trace.file, sha256: trace.sha256 } : null,
    date: created,
    decode_samples: decode.samples,
    r2: round(decode.r2, 4),
    residual_ms: { p50: round(decode.residualMs.p50, 4), p90: round(decode.residualMs.p90, 4), p99: round(decode.residualMs.p99, 4) },
    residual_rel: { p50: round(decode.residualRel.p50, 4), p90: round(decode.residualRel.p90, 4), p99: round(decode.residualRel.p99, 4) },
    residual_cv: round(decode.residualCv, 4),
    prefill_samples: prefill.samples,
    prefill_error_rel: prefill.errorRel ? { p50: round(prefill.errorRel.p50, 4), p90: round(prefill.errorRel.p90, 4) } : null,
    telemetry_batch_agreement: telemetryAgreement === null ? null : round(telemetryAgreement, 4),
    base_profile: { id: base.id, sha256: o.base.sha256 },
    skipped: recon.skipped,
  };
  const pctS = (x: number): string => `${(100 * x).toFixed(1)} %`;
  const summary =
    `decode and prefill cost fitted from a replay of ${endpoint} serving ${o.model.id} at TP ${o.tp} (trace ${trace ? basename(trace.file) : 'unknown'}, ${created.slice(0, 10)}): ` +
    `${decode.samples} decode gaps, R² ${decode.r2.toFixed(3)}, |residual| p50 ${pctS(decode.residualRel.p50)} / p99 ${pctS(decode.residualRel.p99)}; ` +
    `host↔GPU link and dense TFLOPs from ${base.id} (not identifiable from a replay)`;
  const profile = draft(prefill.efficiency);
  profile.provenance = {
    kind: 'fitted',
    summary,
    tool: `orbitflow ${VERSION}`,
    created,
    host: null,
    gpu: { ...base.provenance.gpu, name: `the GPU behind ${endpoint} (not identified; figures below from ${base.id})`, memory_bytes: null, sm_count: null, driver: null, cuda: null, numa_node: null },
    assumptions: [
      { what: 'host↔GPU and GPU↔host transfer curves', value: `those of ${base.id}`, source: `--base ${o.base.file}: a replay does not move KV over the host link in a way visible from outside` },
      { what: 'dense BF16 tensor throughput', value: `${tflops} TFLOPS`, source: `--base ${o.base.file}; the fitted prefill efficiency is relative to it (only their product is identified)` },
      {
        what: 'prefill efficiency',
        value: String(round(prefill.efficiency, 4)),
        source: prefill.identified
          ? `fitted to ${prefill.samples} prefill steps (TTFT net of queueing), |error| p50 ${pctS(prefill.errorRel!.p50)}`
          : `kept from ${base.id}: ${prefill.samples} prefill steps, too few above the decode floor to identify it`,
      },
      { what: 'per-step overhead', value: 'inside decode.fit.base_ms', source: 'the engine\'s fixed cost of a step (scheduling, sampling, launches) is not separable from the per-layer base from outside; simulate a fitted profile with --step-overhead-ms 0 (plan does so by default)' },
    ],
    fit: record,
  };
  return { profile, recon, decode, prefill, telemetryAgreement };
}
