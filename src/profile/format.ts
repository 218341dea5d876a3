/**
 * Profile v1 (`orbitflow.profile/v1`): what one GPU + host link measured, or what a datasheet or a
 * published fit says. Field names are the JSON file's own (snake_case); docs/formats.md is the
 * reference. Every number that was not measured says so through `provenance`.
 */
export const PROFILE_SCHEMA = 'orbitflow.profile/v1';

export type ProvenanceKind = 'measured' | 'datasheet' | 'published-fit';

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
  /** H2D while a decode-attention kernel runs on another stream. */
  h2d_under_decode?: { bytes: number; gib_per_s: number; plain_gib_per_s: number } | null;
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
  context_tokens: number;
  layer_ms: number;
}

export interface DecodeSection {
  fit: DecodeFit;
  /** Upper envelope of the same form (fit raised to cover every residual), for tail-safe plans. */
  upper_fit?: DecodeFit | null;
  grid?: DecodeGridPoint[];
  /** Prefill efficiency: fraction of dense_tflops reached by prefill GEMMs. */
  prefill_efficiency: number;
}

export interface ValidationPoint {
  label: string;
  batch: number;
  context_tokens: number;
  distances: number[];
  predicted_ms: number;
  measured_ms: number;
  error_pct: number;
}

export interface Profile {
  schema: typeof PROFILE_SCHEMA;
  id: string;
  provenance: Provenance;
  transfer: TransferSection;
  decode: DecodeSection;
  validation?: ValidationPoint[];
}

/** The line every report built on a profile starts with. */
export function provenanceLine(p: Profile): string {
  const tag = p.provenance.kind === 'measured' ? 'measured' : p.provenance.kind === 'datasheet' ? 'NOT MEASURED: datasheet-derived' : 'NOT MEASURED: published fit';
  return `profile ${p.id} (${tag}) — ${p.provenance.summary}`;
}
