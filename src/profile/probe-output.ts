import { inputError } from '../core/errors.js';
import { parseJsonText } from '../core/json-text.js';

/**
 * The probe's output (`orbitflow.probe/v1`, written by src/profile/probe/main.cu `all`): raw
 * measurements, before any fit. Field names are the JSON's own. `orbitflow profile` reads it from
 * the probe's stdout or, with --probe-output FILE, from a file captured on another machine.
 */
export const PROBE_SCHEMA = 'orbitflow.probe/v1';

export interface ProbeTiming {
  reps: number;
  median_us: number;
  best_us: number;
  gib_per_s: number;
  best_gib_per_s: number;
}

export interface ProbeCurvePoint extends ProbeTiming {
  bytes: number;
  timing: string;
}

export interface ProbeModel {
  id: string;
  layers: number;
  q_heads: number;
  kv_heads: number;
  head_dim: number;
  hidden: number;
  intermediate: number;
  tp: number;
  dtype: string;
  dtype_bytes: number;
  block_bytes: number;
}

export interface ProbeDevice {
  name: string;
  index: number;
  pci_bus_id: string | null;
  memory_bytes: number;
  sm_count: number;
  compute_capability: string;
  cuda_driver: string;
  cuda_runtime: string;
  copy_engines?: number;
  memory_peak_gib_per_s?: number;
}

export interface ProbeHost {
  hostname: string | null;
  cpu: string | null;
  driver_release: string | null;
  numa_node: number | null;
  pcie_gen_max: number | null;
  pcie_width_max: number | null;
}

export interface ProbeBidirectional {
  bytes: number;
  h2d_gib_per_s: number;
  d2h_gib_per_s: number;
  combined_gib_per_s: number;
}

export interface ProbeKvPoint {
  tokens: number;
  blocks: number;
  bytes: number;
  memcpy_batch: ProbeTiming;
  gather_kernel: ProbeTiming;
  contiguous: ProbeTiming;
}

export interface ProbeContentionCopy {
  method: 'contiguous' | 'memcpy-batch';
  bytes: number;
  tokens?: number;
  plain_gib_per_s: number;
  under_decode_gib_per_s: number;
}

export interface ProbeGridPoint {
  batch: number;
  context_per_seq: number;
  context_tokens: number;
  layer_ms: number;
  layer_best_ms: number;
  attention_ms: number;
  dense_ms: number;
}

export interface ProbeScenario {
  label: string;
  requests: { context_tokens: number; distance: number }[];
  lookahead_layers: number;
  step_ms: number;
  step_best_ms: number;
  copy_done_ms: number;
}

export interface ProbeOutput {
  schema: typeof PROBE_SCHEMA;
  probe_version: string;
  /** Generated numbers (a test fixture), never a measurement. */
  synthetic: boolean;
  created: string;
  quick: boolean;
  model: ProbeModel;
  device: ProbeDevice;
  host: ProbeHost;
  selfcheck: { passed: boolean; checks: { kind: string; case: string; max_abs_err: number; tolerance: number; passed: boolean }[] };
  bandwidth: {
    h2d_pinned: ProbeCurvePoint[];
    d2h_pinned: ProbeCurvePoint[];
    h2d_pageable: ProbeCurvePoint[];
    d2h_pageable: ProbeCurvePoint[];
    bidirectional: ProbeBidirectional[];
    latency: Record<string, number>;
  };
  kv: {
    block_bytes: number;
    points: ProbeKvPoint[];
    contention: {
      decode_batch: number;
      decode_context_per_seq: number;
      decode_kernel_ms: number;
      decode_kernel_ms_under_copy: number;
      copies: ProbeContentionCopy[];
    };
  };
  decode: {
    hbm: { bytes: number; gib_per_s: number };
    grid: ProbeGridPoint[];
    dense: { batch: number; ms: number }[];
    gemm: { m: number; n: number; k: number; tflops: number } | null;
  };
  validate?: { layers: number; kv_method: string; scenarios: ProbeScenario[] };
  elapsed_s?: Record<string, number>;
}

type Json = unknown;
type Obj = Record<string, Json>;

/** Field checks that name the file and the JSON path of the first bad field (exit 2). */
class Checker {
  constructor(readonly file: string) {}
  fail(field: string, what: string): never {
    throw inputError('OF_PROFILE_PROBE_FIELD', this.file, undefined, field, what);
  }
  obj(v: Json, field: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, v === undefined ? 'missing' : 'expected an object');
    return v as Obj;
  }
  arr(v: Json, field: string, minLength = 0): Json[] {
    if (!Array.isArray(v)) this.fail(field, v === undefined ? 'missing' : 'expected an array');
    if (v.length < minLength) this.fail(field, `expected at least ${minLength} entries, got ${v.length}`);
    return v;
  }
  num(o: Obj, key: string, path: string, opts: { positive?: boolean; min?: number; int?: boolean; nullable?: boolean } = {}): number {
    const v = o[key];
    const field = `${path}.${key}`;
    if (v === null && opts.nullable) return null as unknown as number;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.fail(field, v === undefined ? 'missing' : v === null ? 'null (the probe could not measure it)' : `expected a number, got ${JSON.stringify(v)}`);
    }
    if (opts.int && !Number.isInteger(v)) this.fail(field, `expected an integer, got ${v}`);
    if (opts.positive && v <= 0) this.fail(field, `must be > 0, got ${v}`);
    if (opts.min !== undefined && v < opts.min) this.fail(field, `must be ≥ ${opts.min}, got ${v}`);
    return v;
  }
  str(o: Obj, key: string, path: string, opts: { nullable?: boolean } = {}): string {
    const v = o[key];
    if (v === null && opts.nullable) return null as unknown as string;
    if (typeof v !== 'string') this.fail(`${path}.${key}`, v === undefined ? 'missing' : 'expected a string');
    return v;
  }
  bool(o: Obj, key: string, path: string): boolean {
    const v = o[key];
    if (typeof v !== 'boolean') this.fail(`${path}.${key}`, v === undefined ? 'missing' : 'expected true or false');
    return v;
  }
  timing(v: Json, path: string): void {
    const o = this.obj(v, path);
    this.num(o, 'median_us', path, { positive: true });
    this.num(o, 'gib_per_s', path, { positive: true });
  }
  curve(v: Json, path: string): void {
    let prev = 0;
    this.arr(v, path, 1).forEach((p, i) => {
      const where = `${path}[${i}]`;
      const o = this.obj(p, where);
      const bytes = this.num(o, 'bytes', where, { positive: true, int: true });
      if (bytes <= prev) this.fail(`${where}.bytes`, 'sizes must increase strictly');
      prev = bytes;
      this.num(o, 'gib_per_s', where, { positive: true });
    });
  }
}

/**
 * Check a parsed probe document: every field the profile is built from must be present and sane.
 * A probe error document (`{"error": …}`) is reported as such.
 */
export function validateProbeOutput(raw: Json, file: string): ProbeOutput {
  const c = new Checker(file);
  const root = c.obj(raw, '(root)');
  if (root.error !== undefined) {
    const e = typeof root.error === 'object' && root.error !== null ? (root.error as Obj) : {};
    c.fail('error', `this is a probe failure, not a measurement: ${String(e.code ?? '?')}: ${String(e.message ?? '')}`);
  }
  if (root.schema !== PROBE_SCHEMA) c.fail('schema', `expected '${PROBE_SCHEMA}', got ${JSON.stringify(root.schema)}`);
  c.str(root, 'probe_version', '(root)');
  if (root.synthetic !== undefined) c.bool(root, 'synthetic', '(root)');
  c.str(root, 'created', '(root)');
  c.bool(root, 'quick', '(root)');

  const model = c.obj(root.model, 'model');
  c.str(model, 'id', 'model');
  for (const k of ['layers', 'q_heads', 'kv_heads', 'head_dim', 'hidden', 'intermediate', 'tp', 'dtype_bytes', 'block_bytes']) c.num(model, k, 'model', { positive: true, int: true });

  const device = c.obj(root.device, 'device');
  c.str(device, 'name', 'device');
  c.num(device, 'memory_bytes', 'device', { positive: true });
  c.num(device, 'sm_count', 'device', { positive: true, int: true });
  c.str(device, 'compute_capability', 'device');
  c.str(device, 'cuda_driver', 'device');
  c.str(device, 'cuda_runtime', 'device');
  const host = c.obj(root.host, 'host');
  c.str(host, 'hostname', 'host', { nullable: true });
  for (const k of ['numa_node', 'pcie_gen_max', 'pcie_width_max']) if (host[k] !== undefined) c.num(host, k, 'host', { nullable: true, int: true });

  const sc = c.obj(root.selfcheck, 'selfcheck');
  if (!c.bool(sc, 'passed', 'selfcheck')) c.fail('selfcheck.passed', 'false: the probe kernels disagreed with the CPU reference, so nothing measured is trustworthy');

  const bw = c.obj(root.bandwidth, 'bandwidth');
  for (const k of ['h2d_pinned', 'd2h_pinned', 'h2d_pageable', 'd2h_pageable']) c.curve(bw[k], `bandwidth.${k}`);
  c.arr(bw.bidirectional, 'bandwidth.bidirectional').forEach((b, i) => {
    const where = `bandwidth.bidirectional[${i}]`;
    const o = c.obj(b, where);
    c.num(o, 'bytes', where, { positive: true });
    c.num(o, 'h2d_gib_per_s', where, { positive: true });
    c.num(o, 'd2h_gib_per_s', where, { positive: true });
  });
  const lat = c.obj(bw.latency, 'bandwidth.latency');
  c.num(lat, 'h2d_pinned_4k_us', 'bandwidth.latency', { positive: true });

  const kv = c.obj(root.kv, 'kv');
  c.num(kv, 'block_bytes', 'kv', { positive: true, int: true });
  if (kv.block_bytes !== model.block_bytes) c.fail('kv.block_bytes', `${String(kv.block_bytes)} differs from model.block_bytes ${String(model.block_bytes)}`);
  let prevBytes = 0;
  c.arr(kv.points, 'kv.points', 1).forEach((p, i) => {
    const where = `kv.points[${i}]`;
    const o = c.obj(p, where);
    c.num(o, 'tokens', where, { positive: true, int: true });
    const bytes = c.num(o, 'bytes', where, { positive: true, int: true });
    if (bytes <= prevBytes) c.fail(`${where}.bytes`, 'sizes must increase strictly');
    prevBytes = bytes;
    c.timing(o.memcpy_batch, `${where}.memcpy_batch`);
    c.timing(o.gather_kernel, `${where}.gather_kernel`);
    c.timing(o.contiguous, `${where}.contiguous`);
  });
  const ct = c.obj(kv.contention, 'kv.contention');
  c.num(ct, 'decode_kernel_ms', 'kv.contention', { positive: true });
  c.num(ct, 'decode_kernel_ms_under_copy', 'kv.contention', { positive: true });
  c.arr(ct.copies, 'kv.contention.copies', 1).forEach((p, i) => {
    const where = `kv.contention.copies[${i}]`;
    const o = c.obj(p, where);
    c.str(o, 'method', where);
    c.num(o, 'bytes', where, { positive: true });
    c.num(o, 'plain_gib_per_s', where, { positive: true });
    c.num(o, 'under_decode_gib_per_s', where, { positive: true });
  });

  const dec = c.obj(root.decode, 'decode');
  c.num(c.obj(dec.hbm, 'decode.hbm'), 'gib_per_s', 'decode.hbm', { positive: true });
  c.arr(dec.grid, 'decode.grid', 3).forEach((g, i) => {
    const where = `decode.grid[${i}]`;
    const o = c.obj(g, where);
    const b = c.num(o, 'batch', where, { positive: true, int: true });
    const per = c.num(o, 'context_per_seq', where, { positive: true, int: true });
    const total = c.num(o, 'context_tokens', where, { positive: true, int: true });
    if (total !== b * per) c.fail(`${where}.context_tokens`, `expected batch × context_per_seq = ${b * per}, got ${total}`);
    c.num(o, 'layer_ms', where, { positive: true });
  });
  c.arr(dec.dense, 'decode.dense');
  if (dec.gemm !== undefined && dec.gemm !== null) c.num(c.obj(dec.gemm, 'decode.gemm'), 'tflops', 'decode.gemm', { positive: true });

  if (root.validate !== undefined) {
    const v = c.obj(root.validate, 'validate');
    const layers = c.num(v, 'layers', 'validate', { positive: true, int: true });
    if (layers !== model.layers) c.fail('validate.layers', `${layers} differs from model.layers ${String(model.layers)}`);
    c.arr(v.scenarios, 'validate.scenarios').forEach((s, i) => {
      const where = `validate.scenarios[${i}]`;
      const o = c.obj(s, where);
      c.str(o, 'label', where);
      c.num(o, 'step_ms', where, { positive: true });
      c.arr(o.requests, `${where}.requests`, 1).forEach((r, k) => {
        const rw = `${where}.requests[${k}]`;
        const ro = c.obj(r, rw);
        c.num(ro, 'context_tokens', rw, { positive: true, int: true });
        c.num(ro, 'distance', rw, { min: -1, int: true });
      });
    });
  }
  return raw as ProbeOutput;
}

/** Parse probe JSON text (stdout or a file); a syntax error names the line. */
export function parseProbeOutput(text: string, file: string): ProbeOutput {
  const raw = parseJsonText(text, file, 'OF_PROFILE_PROBE_JSON') as Json;
  return validateProbeOutput(raw, file);
}
