import { inputError } from '../core/errors.js';
import { kvBytesPerBlock, type ModelSpec } from '../core/model-spec.js';
import { placementForDistance } from '../core/placement.js';
import { CostModel, type StepRequest } from '../cost/cost-model.js';
import { datasheetDenseTflops } from './datasheet.js';
import { fitDecodeLinear, upperEnvelope, type DecodeFitResult } from './fit.js';
import {
  PROFILE_SCHEMA,
  type Assumption,
  type KvTransferPoint,
  type LinearDecodeFit,
  type Profile,
  type TransferPoint,
  type TransferSection,
  type ValidationPoint,
} from '../core/profile-format.js';
import type { ProbeCurvePoint, ProbeOutput } from './probe-output.js';
import type { SmiGpu } from './gpu-query.js';

export interface ProfileBuildInput {
  probe: ProbeOutput;
  /** Where the probe JSON came from, for error messages (a file, or "probe output"). */
  probeFile: string;
  probeSha256: string;
  model: ModelSpec;
  tp: number;
  /** nvidia-smi's view of the GPU, when it ran (driver release, PCIe maximums). */
  smi?: SmiGpu | null;
  numaNode?: number | null;
  toolVersion: string;
  /** Predict the validation points with the upper-envelope fit. */
  upper: boolean;
}

export interface ProfileBuild {
  profile: Profile;
  fit: DecodeFitResult;
  /** Things a reader of the summary should know (weak fit, large validation error, …). */
  warnings: string[];
}

/** "NVIDIA H100 80GB HBM3" → "h100-80gb-hbm3". */
export function gpuSlug(name: string): string {
  return name.toLowerCase().replace(/^nvidia\s+/, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'gpu';
}

export function profileId(gpuName: string, modelId: string, tp: number): string {
  return `${gpuSlug(gpuName)}-${modelId}${tp > 1 ? `-tp${tp}` : ''}`;
}

const round = (v: number, digits = 6): number => Number(v.toPrecision(digits));

function curve(points: readonly ProbeCurvePoint[]): TransferPoint[] {
  return points.map((p) => ({ bytes: p.bytes, gib_per_s: round(p.gib_per_s) }));
}

/** The probe measured one model shape; the profile's model must be that shape. */
function checkModel(input: ProfileBuildInput): void {
  const { probe, model, tp } = input;
  const want: [keyof ProbeOutput['model'], number][] = [
    ['layers', model.layers],
    ['q_heads', model.attentionHeads],
    ['kv_heads', model.kvHeads],
    ['head_dim', model.headDim],
    ['hidden', model.hiddenSize],
    ['intermediate', model.intermediateSize],
    ['tp', tp],
    ['dtype_bytes', model.kvDtypeBytes],
    ['block_bytes', kvBytesPerBlock(model, tp)],
  ];
  for (const [field, value] of want) {
    if (probe.model[field] !== value) {
      throw inputError('OF_PROFILE_PROBE_MODEL', input.probeFile, undefined, `model.${field}`,
        `the probe measured ${String(probe.model[field])} (${probe.model.id}), but ${model.id}${tp > 1 ? ` at tp ${tp}` : ''} has ${value}`);
    }
  }
}

function transferSection(probe: ProbeOutput): TransferSection {
  const bw = probe.bandwidth;
  const kvPoints = probe.kv.points;
  const kv = (pick: 'memcpy_batch' | 'gather_kernel', method: KvTransferPoint['method']): KvTransferPoint[] =>
    kvPoints.map((p) => ({ bytes: p.bytes, gib_per_s: round(p[pick].gib_per_s), block_bytes: probe.kv.block_bytes, method }));
  const ct = probe.kv.contention;
  const plain = ct.copies.find((c) => c.method === 'contiguous') ?? ct.copies[0];
  const shaped = ct.copies.find((c) => c.method === 'memcpy-batch');
  const bidi = [...bw.bidirectional].sort((a, b) => a.bytes - b.bytes);
  const largest = bidi.at(-1);
  return {
    latency_us: round(bw.latency.h2d_pinned_4k_us),
    h2d_pinned: curve(bw.h2d_pinned),
    d2h_pinned: curve(bw.d2h_pinned),
    h2d_pageable: curve(bw.h2d_pageable),
    d2h_pageable: curve(bw.d2h_pageable),
    bidirectional: largest ? { bytes: largest.bytes, h2d_gib_per_s: round(largest.h2d_gib_per_s), d2h_gib_per_s: round(largest.d2h_gib_per_s) } : null,
    bidirectional_sweep: bidi.map((b) => ({ bytes: b.bytes, h2d_gib_per_s: round(b.h2d_gib_per_s), d2h_gib_per_s: round(b.d2h_gib_per_s) })),
    // Per-block copies run on a copy engine and overlap compute, which is what the cost model
    // assumes of a prefetch; the gather kernel would take SMs from the layer it runs beside.
    kv_block_h2d: kv('memcpy_batch', 'memcpy-batch'),
    kv_block_h2d_gather: kv('gather_kernel', 'gather-kernel'),
    h2d_under_decode: {
      bytes: plain.bytes,
      gib_per_s: round(plain.under_decode_gib_per_s),
      plain_gib_per_s: round(plain.plain_gib_per_s),
      kv_shaped: shaped
        ? { tokens: shaped.tokens ?? 0, bytes: shaped.bytes, gib_per_s: round(shaped.under_decode_gib_per_s), plain_gib_per_s: round(shaped.plain_gib_per_s) }
        : null,
      decode_kernel_ms: round(ct.decode_kernel_ms),
      decode_kernel_ms_under_copy: round(ct.decode_kernel_ms_under_copy),
    },
    latency_detail: Object.fromEntries(Object.entries(bw.latency).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)).map(([k, v]) => [k, round(v)])),
  };
}

/** Build a profile v1 from probe measurements: curves copied, the decode cost fitted, validation predicted. */
export function buildProfile(input: ProfileBuildInput): ProfileBuild {
  checkModel(input);
  const { probe, model, tp } = input;
  const warnings: string[] = [];
  const synthetic = probe.synthetic === true;
  const gpuName = input.smi?.name ?? probe.device.name;
  const created = probe.created;

  const grid = probe.decode.grid;
  const fit = fitDecodeLinear(grid.map((g) => ({ batch: g.batch, contextTokens: g.context_tokens, ms: g.layer_ms })));
  const upper = upperEnvelope(fit);
  const clampedNote = fit.clamped.length ? `; ${fit.clamped.join(', ')} held at 0 (non-negative least squares)` : '';
  const source = `${synthetic ? 'SYNTHETIC ' : ''}orbitflow probe v${probe.probe_version} on ${gpuName}, ${created.slice(0, 10)}: ${grid.length} (batch, context) points`;
  const linear: LinearDecodeFit = {
    form: 'linear',
    model: model.id,
    tp,
    base_ms: round(fit.baseMs),
    per_seq_ms: round(fit.perSeqMs),
    per_token_ms: round(fit.perTokenMs),
    r2: round(fit.r2, 5),
    method: `least squares of per-layer decode ms on (1, batch, Σ context tokens)${clampedNote}`,
    source,
  };
  const upperFit: LinearDecodeFit = {
    ...linear,
    base_ms: round(upper.baseMs),
    method: `upper envelope: the fit's slopes, intercept raised by the largest residual (${round(upper.raisedByMs, 4)} ms)`,
  };
  if (fit.r2 < 0.9) warnings.push(`decode fit R² is ${fit.r2.toFixed(3)}: per-layer time is not well described by (batch, Σ context) on this GPU`);
  if (fit.clamped.length) warnings.push(`decode fit: ${fit.clamped.join(', ')} came out negative and were held at 0`);

  const assumptions: Assumption[] = [];
  if (synthetic) {
    assumptions.push({
      what: 'every measurement',
      value: 'synthetic',
      source: 'the probe output is marked "synthetic": true (generated from known coefficients, e.g. the test fixture); it measures no GPU',
    });
  }
  const sheet = datasheetDenseTflops(gpuName);
  let denseTflops: number | null;
  let prefillEfficiency: number;
  let denseSource: 'datasheet' | 'probe-gemm' | null;
  if (sheet) {
    denseTflops = sheet.tflops;
    denseSource = 'datasheet';
    prefillEfficiency = 0.5;
    assumptions.push({ what: 'dense BF16 tensor throughput (prefill time only)', value: `${sheet.tflops} TFLOPS`, source: sheet.source });
    assumptions.push({ what: 'prefill efficiency', value: '0.5', source: 'assumption (not measured): prefill GEMMs reach about half of peak dense throughput' });
  } else if (probe.decode.gemm) {
    denseTflops = round(probe.decode.gemm.tflops, 4);
    denseSource = 'probe-gemm';
    prefillEfficiency = 1;
    assumptions.push({
      what: 'dense tensor throughput (prefill time only)',
      value: `${denseTflops} TFLOPS`,
      source: `no datasheet figure is known for ${gpuName}: measured with the probe's own WMMA GEMM at ${probe.decode.gemm.m}×${probe.decode.gemm.n}×${probe.decode.gemm.k}, a lower bound (not a tuned library GEMM)`,
    });
    assumptions.push({ what: 'prefill efficiency', value: '1', source: 'the throughput above was achieved by a GEMM, so no further factor is applied' });
  } else {
    denseTflops = null;
    denseSource = null;
    prefillEfficiency = 0.5;
    warnings.push(`no dense throughput for ${gpuName}: prefill times cannot be predicted from this profile`);
  }
  assumptions.push({
    what: 'decode kernels',
    value: "the probe's own paged attention and WMMA GEMMs, per layer",
    source: "the decode fit times orbitflow's kernels, not a serving engine's (FlashAttention/FlashInfer, cuBLAS), and leaves out norms, rotary embedding, activations and the LM head; a replay's calibration corrects the level",
  });

  const pcieGen = input.smi?.pcieGenMax ?? probe.host.pcie_gen_max ?? null;
  const pcieWidth = input.smi?.pcieWidthMax ?? probe.host.pcie_width_max ?? null;
  const numa = input.numaNode ?? (probe.host.numa_node !== null && probe.host.numa_node !== undefined && probe.host.numa_node >= 0 ? probe.host.numa_node : null);
  const driver = input.smi?.driverVersion ?? probe.host.driver_release ?? `CUDA driver API ${probe.device.cuda_driver}`;
  const h2dPeak = Math.max(...probe.bandwidth.h2d_pinned.map((p) => p.gib_per_s));
  const summary = synthetic
    ? `SYNTHETIC probe output (generated, not measured) for ${model.id}${tp > 1 ? ` tp ${tp}` : ''} on a nominal ${gpuName}`
    : `${gpuName}: measured by orbitflow probe v${probe.probe_version} (${probe.quick ? 'quick' : 'full'}) for ${model.id}${tp > 1 ? ` tp ${tp}` : ''} on ${created.slice(0, 10)}; H2D ${h2dPeak.toFixed(1)} GiB/s pinned, decode fit R² ${fit.r2.toFixed(3)}`;

  const profile: Profile = {
    schema: PROFILE_SCHEMA,
    id: profileId(gpuName, model.id, tp),
    provenance: {
      kind: synthetic ? 'synthetic' : 'measured',
      summary,
      tool: `orbitflow ${input.toolVersion} (probe v${probe.probe_version})`,
      created,
      host: probe.host.hostname,
      gpu: {
        name: gpuName,
        memory_bytes: probe.device.memory_bytes,
        sm_count: probe.device.sm_count,
        driver,
        cuda: probe.device.cuda_runtime,
        pcie_gen: pcieGen,
        pcie_width: pcieWidth,
        numa_node: numa,
        hbm_gib_per_s: round(probe.decode.hbm.gib_per_s),
        dense_tflops: denseTflops,
        compute_capability: probe.device.compute_capability,
        dense_tflops_source: denseSource,
      },
      assumptions,
      probe: {
        schema: probe.schema,
        probe_version: probe.probe_version,
        output_sha256: input.probeSha256,
        quick: probe.quick,
        synthetic,
        ...(probe.elapsed_s ? { elapsed_s: probe.elapsed_s } : {}),
      },
    },
    transfer: transferSection(probe),
    decode: {
      fit: linear,
      upper_fit: upperFit,
      grid: grid.map((g) => ({
        batch: g.batch,
        context_tokens: g.context_tokens,
        layer_ms: round(g.layer_ms),
        context_per_seq: g.context_per_seq,
        attention_ms: round(g.attention_ms),
        dense_ms: round(g.dense_ms),
      })),
      prefill_efficiency: prefillEfficiency,
      fit_stats: {
        points: fit.points,
        r2: round(fit.r2, 5),
        rmse_ms: round(fit.rmseMs, 4),
        max_residual_ms: round(fit.maxResidualMs, 4),
        min_residual_ms: round(fit.minResidualMs, 4),
        clamped: fit.clamped,
      },
    },
  };

  const scenarios = probe.validate?.scenarios ?? [];
  if (scenarios.length > 0) {
    const cost = new CostModel(model, profile, { tp, upper: input.upper });
    profile.validation = scenarios.map((sc): ValidationPoint => {
      const reqs: StepRequest[] = sc.requests.map((r) => ({ contextTokens: r.context_tokens, placement: placementForDistance(model.layers, r.distance) }));
      const predicted = cost.stepTime(reqs).totalMs;
      const errorPct = ((predicted - sc.step_ms) / sc.step_ms) * 100;
      if (Math.abs(errorPct) > 20) warnings.push(`validation '${sc.label}': predicted ${predicted.toFixed(2)} ms vs measured ${sc.step_ms.toFixed(2)} ms (${errorPct > 0 ? '+' : ''}${errorPct.toFixed(1)} %)`);
      return {
        label: sc.label,
        batch: sc.requests.length,
        context_tokens: sc.requests.reduce((s, r) => s + r.context_tokens, 0),
        distances: sc.requests.map((r) => r.distance),
        predicted_ms: round(predicted),
        measured_ms: round(sc.step_ms),
        error_pct: round(errorPct, 4),
        predicted_with: input.upper ? 'upper_fit' : 'fit',
        copy_done_ms: round(sc.copy_done_ms),
        lookahead_layers: sc.lookahead_layers,
      };
    });
  }
  return { profile, fit, warnings };
}
