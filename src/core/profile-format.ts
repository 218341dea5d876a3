/**
 * Profile v1 (`orbitflow.profile/v1`): what one GPU + host link measured, or what a datasheet or a
 * published fit says. Field names are the JSON file's own (snake_case); docs/formats.md is the
 * reference. Every number that was not measured says so through `provenance`.
 */
export const PROFILE_SCHEMA = 'orbitflow.profile/v1';

/**
 * `synthetic`: made from generated numbers (test fixtures); never a measurement. `fitted`: the
 * decode and prefill cost fitted from a replay of a live endpoint (`profile --from-run`), the rest
 * kept from a base profile; `provenance.fit` says from where.
 */
export type ProvenanceKind = 'measured' | 'datasheet' | 'published-fit' | 'synthetic' | 'fitted';

export interface Assumption {
  what: string;
  value: string;
  source: string;
}

export interface GpuInfo {
  name: string;
  memory_bytes: number | null;
  sm_count: number | null;
  driver: string | null;
  cuda: string | null;
  pcie_gen: number | null;
  pcie_width: number | null;
  numa_node: number | null;
  /** Device memory bandwidth: measured (copy kernel) or datasheet peak. */
  hbm_gib_per_s: number | null;
  /** Dense fp16/bf16 tensor throughput; used for prefill time. */
  dense_tflops: number | null;
  /** e.g. "9.0" (measured profiles). */
  compute_capability?: string | null;
  /** Where dense_tflops comes from: a datasheet table (an assumption) or the probe's own GEMM (a lower bound). */
  dense_tflops_source?: 'datasheet' | 'probe-gemm' | null;
}

/** The raw measurement a measured profile was built from (`orbitflow profile`'s probe). */
export interface ProbeRecord {
  schema: string;
  probe_version: string;
  /** SHA-256 of the probe's JSON output as read. */
  output_sha256: string;
  quick: boolean;
  synthetic: boolean;
  /** Wall time of each probe section, seconds. */
  elapsed_s?: Record<string, number>;
}

export interface Provenance {
  kind: ProvenanceKind;
  /** One line, repeated on top of every report built on this profile. */
  summary: string;
  tool: string | null;
  created: string;
  host: string | null;
  gpu: GpuInfo;
  assumptions: Assumption[];
  probe?: ProbeRecord;
  /** Kind `fitted`: the replay the fit came from (src/profile/from-run/fit-run.ts). */
  fit?: FitRecord;
}

/** Where a `fitted` profile's numbers come from: the replay, the samples and how well they fit. */
export interface FitRecord {
  /** The endpoint replayed, as displayed (no credentials). */
  endpoint: string;
  model: string;
  tp: number;
  run_dir: string;
  run_start: string | null;
  trace: { file: string; sha256: string } | null;
  date: string;
  decode_samples: number;
  r2: number;
  /** |measured − fitted| of the decode gaps, ms, and relative to the fitted value. */
  residual_ms: { p50: number; p90: number; p99: number };
  residual_rel: { p50: number; p90: number; p99: number };
  /** Robust spread of the relative residuals (1.4826 · MAD): the step-time noise seen from outside. */
  residual_cv: number;
  prefill_samples: number;
  /** |measured − fitted| / measured of the prefill steps; null when prefill was not fitted. */
  prefill_error_rel: { p50: number; p90: number } | null;
  /** Share of decode gaps whose reconstructed batch is within 1 of the telemetry's running count; null without telemetry. */
  telemetry_batch_agreement: number | null;
  base_profile: { id: string; sha256: string };
  /** Gaps left out, by reason. */
  skipped: Record<string, number>;
}

/** Achieved bandwidth of one copy of `bytes` bytes (includes its latency: time = bytes / bandwidth). */
export interface TransferPoint {
  bytes: number;
  gib_per_s: number;
}

export interface KvTransferPoint extends TransferPoint {
  block_bytes: number;
  method: 'memcpy-batch' | 'gather-kernel' | 'model';
}

export interface TransferSection {
  /** Small-copy latency (one 4 KiB pinned H2D), microseconds. */
  latency_us: number | null;
  h2d_pinned: TransferPoint[];
  d2h_pinned: TransferPoint[];
  h2d_pageable?: TransferPoint[];
  d2h_pageable?: TransferPoint[];
  /** H2D and D2H at once, each direction's achieved rate. */
  bidirectional?: { bytes: number; h2d_gib_per_s: number; d2h_gib_per_s: number } | null;
  /** One layer of one request's blocks copied as a batch of block-sized copies (or gathered by a kernel). */
  kv_block_h2d?: KvTransferPoint[];
  /**
   * The same KV-shaped fetch by a gather kernel reading mapped host memory (zero-copy). Not used by
   * the cost model: it takes SMs from compute, so it does not overlap the way copy-engine fetches do.
   */
  kv_block_h2d_gather?: KvTransferPoint[];
  /** H2D while a decode-attention kernel runs on another stream. */
  h2d_under_decode?: {
    bytes: number;
    gib_per_s: number;
    plain_gib_per_s: number;
    /** A KV-shaped (per-block) fetch of one layer of a request under the same decode load. */
    kv_shaped?: { tokens: number; bytes: number; gib_per_s: number; plain_gib_per_s: number } | null;
    /** The decode-attention kernel alone, and while copies run beside it, ms. */
    decode_kernel_ms?: number;
    decode_kernel_ms_under_copy?: number;
  } | null;
  /** Each size measured with both directions at once. */
  bidirectional_sweep?: { bytes: number; h2d_gib_per_s: number; d2h_gib_per_s: number }[];
  /** Small-copy latencies in µs (4 KiB and 8 B, pinned and pageable; per copy in a batch). */
  latency_detail?: Record<string, number>;
}

/** Per-layer decode time in ms = base_ms + per_seq_ms · batch + per_token_ms · Σ context tokens. */
export interface LinearDecodeFit {
  form: 'linear';
  /** The model the fit was measured with; a linear fit is only valid for it. */
  model: string;
  tp: number;
  base_ms: number;
  per_seq_ms: number;
  per_token_ms: number;
  r2: number | null;
  method: string;
  source: string;
}

/**
 * Memory-roofline decode model, valid for any model: per-layer time = overhead_ms
 * + (weight bytes of a layer + KV bytes read) / (hbm_gib_per_s · efficiency) + per_seq_ms · batch.
 */
export interface RooflineDecodeFit {
  form: 'roofline';
  hbm_gib_per_s: number;
  efficiency: number;
  overhead_ms: number;
  per_seq_ms: number;
  source: string;
}

export type DecodeFit = LinearDecodeFit | RooflineDecodeFit;

export interface DecodeGridPoint {
  batch: number;
  /** Total context tokens of the batch (Σ over its sequences): the fit's x. */
  context_tokens: number;
  layer_ms: number;
  /** Tokens of each sequence (measured grids use equal lengths). */
  context_per_seq?: number;
  attention_ms?: number;
  dense_ms?: number;
}

/** How well the linear decode fit describes its grid. */
export interface DecodeFitStats {
  points: number;
  r2: number;
  rmse_ms: number;
  /** Largest measured − fitted, ms: what upper_fit adds to the intercept. */
  max_residual_ms: number;
  min_residual_ms: number;
  /** Whether a coefficient was held at 0 (non-negative least squares). */
  clamped: string[];
}

export interface DecodeSection {
  fit: DecodeFit;
  /** Upper envelope of the same form (fit raised to cover every residual), for tail-safe plans. */
  upper_fit?: DecodeFit | null;
  grid?: DecodeGridPoint[];
  /** Prefill efficiency: fraction of dense_tflops reached by prefill GEMMs. */
  prefill_efficiency: number;
  fit_stats?: DecodeFitStats;
}

export interface ValidationPoint {
  label: string;
  batch: number;
  context_tokens: number;
  distances: number[];
  predicted_ms: number;
  measured_ms: number;
  error_pct: number;
  /** Which decode fit made the prediction. */
  predicted_with?: 'fit' | 'upper_fit';
  /** Measured step's copy stream: when its last fetch landed, ms from the step's start. */
  copy_done_ms?: number;
  /** Staging slots the measurement had (the cost model assumes one per layer). */
  lookahead_layers?: number;
}

export interface Profile {
  schema: typeof PROFILE_SCHEMA;
  id: string;
  provenance: Provenance;
  transfer: TransferSection;
  decode: DecodeSection;
  validation?: ValidationPoint[];
}

/** A fitted profile's decode base already holds the engine's fixed per-step cost: simulations add none. */
export const FITTED_STEP_OVERHEAD_MS = 0;

/** The line every report built on a profile starts with. */
export function provenanceLine(p: Profile): string {
  const kind = p.provenance.kind;
  if (kind === 'fitted') return `profile ${p.id} (fitted from a replay of ${p.provenance.fit?.endpoint ?? 'an endpoint'}) — ${p.provenance.summary}`;
  const tag = kind === 'measured' ? 'measured'
    : kind === 'datasheet' ? 'NOT MEASURED: datasheet-derived'
    : kind === 'synthetic' ? 'NOT MEASURED: synthetic data'
    : 'NOT MEASURED: published fit';
  return `profile ${p.id} (${tag}) — ${p.provenance.summary}`;
}
