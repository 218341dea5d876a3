import { parseJsonText } from '../core/json-text.js';
import { inputError } from '../core/errors.js';
import { readInputFile } from '../core/input-file.js';
import { sha256Hex } from '../core/hash.js';
import { PROFILE_SCHEMA, type Profile } from '../core/profile-format.js';

type Json = unknown;

class Checker {
  constructor(readonly file: string) {}
  fail(field: string, what: string): never {
    throw inputError('OF_PROFILE_FIELD', this.file, undefined, field, what);
  }
  obj(v: Json, field: string): Record<string, Json> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, v === undefined ? 'missing' : 'expected an object');
    return v as Record<string, Json>;
  }
  num(v: Json, field: string, opts: { min?: number; exclusiveMin?: number; nullable?: boolean; int?: boolean } = {}): number {
    if (v === null && opts.nullable) return null as unknown as number;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, v === undefined ? 'missing' : `expected a number, got ${JSON.stringify(v)}`);
    if (opts.int && !Number.isInteger(v)) this.fail(field, `expected an integer, got ${v}`);
    if (opts.min !== undefined && v < opts.min) this.fail(field, `must be ≥ ${opts.min}, got ${v}`);
    if (opts.exclusiveMin !== undefined && v <= opts.exclusiveMin) this.fail(field, `must be > ${opts.exclusiveMin}, got ${v}`);
    return v;
  }
  str(v: Json, field: string, opts: { nullable?: boolean; oneOf?: readonly string[] } = {}): string {
    if (v === null && opts.nullable) return null as unknown as string;
    if (typeof v !== 'string') this.fail(field, v === undefined ? 'missing' : 'expected a string');
    if (opts.oneOf && !opts.oneOf.includes(v)) this.fail(field, `expected one of ${opts.oneOf.join(' | ')}, got '${v}'`);
    return v;
  }
  arr(v: Json, field: string, opts: { nonEmpty?: boolean } = {}): Json[] {
    if (!Array.isArray(v)) this.fail(field, v === undefined ? 'missing' : 'expected an array');
    if (opts.nonEmpty && v.length === 0) this.fail(field, 'must not be empty');
    return v;
  }
  curve(v: Json, field: string, required: boolean): void {
    if (v === undefined && !required) return;
    const pts = this.arr(v, field, { nonEmpty: true });
    let prev = 0;
    pts.forEach((p, i) => {
      const o = this.obj(p, `${field}[${i}]`);
      const bytes = this.num(o.bytes, `${field}[${i}].bytes`, { exclusiveMin: 0 });
      this.num(o.gib_per_s, `${field}[${i}].gib_per_s`, { exclusiveMin: 0 });
      if (bytes <= prev) this.fail(`${field}[${i}].bytes`, 'sizes must increase strictly');
      prev = bytes;
    });
  }
  fit(v: Json, field: string): void {
    const f = this.obj(v, field);
    const form = this.str(f.form, `${field}.form`, { oneOf: ['linear', 'roofline'] });
    if (form === 'linear') {
      this.str(f.model, `${field}.model`);
      this.num(f.tp, `${field}.tp`, { min: 1, int: true });
      this.num(f.base_ms, `${field}.base_ms`, { min: 0 });
      this.num(f.per_seq_ms, `${field}.per_seq_ms`, { min: 0 });
      this.num(f.per_token_ms, `${field}.per_token_ms`, { min: 0 });
      this.num(f.r2, `${field}.r2`, { nullable: true });
      this.str(f.method, `${field}.method`);
    } else {
      this.num(f.hbm_gib_per_s, `${field}.hbm_gib_per_s`, { exclusiveMin: 0 });
      this.num(f.efficiency, `${field}.efficiency`, { exclusiveMin: 0 });
      if ((f.efficiency as number) > 1) this.fail(`${field}.efficiency`, 'must be ≤ 1');
      this.num(f.overhead_ms, `${field}.overhead_ms`, { min: 0 });
      this.num(f.per_seq_ms, `${field}.per_seq_ms`, { min: 0 });
    }
    this.str(f.source, `${field}.source`);
  }
}

/** Validate a parsed profile object; throws OrbitflowError (exit 2) naming file and field. */
export function validateProfile(raw: Json, file: string): Profile {
  const c = new Checker(file);
  const p = c.obj(raw, '(root)');
  if (p.schema !== PROFILE_SCHEMA) c.fail('schema', `expected '${PROFILE_SCHEMA}', got ${JSON.stringify(p.schema)}`);
  c.str(p.id, 'id');
  const prov = c.obj(p.provenance, 'provenance');
  c.str(prov.kind, 'provenance.kind', { oneOf: ['measured', 'datasheet', 'published-fit', 'synthetic', 'fitted'] });
  if (prov.kind === 'fitted') c.str(c.obj(prov.fit, 'provenance.fit').endpoint, 'provenance.fit.endpoint');
  c.str(prov.summary, 'provenance.summary');
  c.str(prov.created, 'provenance.created');
  const gpu = c.obj(prov.gpu, 'provenance.gpu');
  c.str(gpu.name, 'provenance.gpu.name');
  for (const k of ['memory_bytes', 'sm_count', 'pcie_gen', 'pcie_width', 'numa_node', 'hbm_gib_per_s', 'dense_tflops']) {
    if (gpu[k] !== undefined) c.num(gpu[k], `provenance.gpu.${k}`, { nullable: true, min: 0 });
  }
  const assumptions = c.arr(prov.assumptions, 'provenance.assumptions');
  assumptions.forEach((a, i) => {
    const o = c.obj(a, `provenance.assumptions[${i}]`);
    c.str(o.what, `provenance.assumptions[${i}].what`);
    c.str(o.value, `provenance.assumptions[${i}].value`);
    c.str(o.source, `provenance.assumptions[${i}].source`);
  });
  if (prov.kind !== 'measured' && assumptions.length === 0) {
    c.fail('provenance.assumptions', `a ${String(prov.kind)} profile must list every assumed number and its source`);
  }
  const t = c.obj(p.transfer, 'transfer');
  c.num(t.latency_us, 'transfer.latency_us', { nullable: true, min: 0 });
  c.curve(t.h2d_pinned, 'transfer.h2d_pinned', true);
  c.curve(t.d2h_pinned, 'transfer.d2h_pinned', true);
  c.curve(t.h2d_pageable, 'transfer.h2d_pageable', false);
  c.curve(t.d2h_pageable, 'transfer.d2h_pageable', false);
  if (t.kv_block_h2d !== undefined) {
    c.curve(t.kv_block_h2d, 'transfer.kv_block_h2d', false);
    (t.kv_block_h2d as Json[]).forEach((pt, i) => c.num((pt as Record<string, Json>).block_bytes, `transfer.kv_block_h2d[${i}].block_bytes`, { exclusiveMin: 0 }));
  }
  if (t.kv_block_h2d_gather !== undefined) {
    c.curve(t.kv_block_h2d_gather, 'transfer.kv_block_h2d_gather', false);
    (t.kv_block_h2d_gather as Json[]).forEach((pt, i) => c.num((pt as Record<string, Json>).block_bytes, `transfer.kv_block_h2d_gather[${i}].block_bytes`, { exclusiveMin: 0 }));
  }
  const d = c.obj(p.decode, 'decode');
  c.fit(d.fit, 'decode.fit');
  if (d.upper_fit !== undefined && d.upper_fit !== null) c.fit(d.upper_fit, 'decode.upper_fit');
  c.num(d.prefill_efficiency, 'decode.prefill_efficiency', { exclusiveMin: 0 });
  if (d.grid !== undefined) {
    c.arr(d.grid, 'decode.grid').forEach((g, i) => {
      const o = c.obj(g, `decode.grid[${i}]`);
      c.num(o.batch, `decode.grid[${i}].batch`, { min: 1 });
      c.num(o.context_tokens, `decode.grid[${i}].context_tokens`, { min: 0 });
      c.num(o.layer_ms, `decode.grid[${i}].layer_ms`, { min: 0 });
    });
  }
  return p as unknown as Profile;
}

export interface LoadedProfile {
  profile: Profile;
  file: string;
  /** SHA-256 of the file's bytes, recorded in plans and run results. */
  sha256: string;
}

export function loadProfile(file: string): LoadedProfile {
  const text = readInputFile(file, { what: 'profile', code: 'OF_PROFILE_READ' });
  const raw = parseJsonText(text, file, 'OF_PROFILE_JSON') as Json;
  return { profile: validateProfile(raw, file), file, sha256: sha256Hex(text) };
}
