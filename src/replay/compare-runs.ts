import { usageError } from '../core/errors.js';
import { createRng, type Rng } from '../core/rng.js';
import { holds, KEY_SOURCE, lookup, NUMBER_SOURCE, numericKeyPaths, OP_SOURCE, overNoSamples, type AssertOp } from './assertions.js';
import type { LoadedRun } from './run-files.js';
import { sampleMetric, samplesFromDetailedLists, samplesFromRecords, type RequestSample } from './request-samples.js';

export const COMPARE_SCHEMA = 'orbitflow.compare/v1';

/** `KEY OP RHS` with RHS `NUMBER`, `base`, `base * NUMBER`, `NUMBER * base`, `base + NUMBER` or `base - NUMBER`: bound = scale × base + offset. */
export interface CompareAssertion {
  expr: string;
  key: string;
  op: AssertOp;
  scale: number;
  offset: number;
}

const RHS_FORMS: Array<[RegExp, (n: number) => { scale: number; offset: number }]> = [
  [new RegExp(`^base$`), () => ({ scale: 1, offset: 0 })],
  [new RegExp(`^base\\s*\\*\\s*(${NUMBER_SOURCE})$`), (n) => ({ scale: n, offset: 0 })],
  [new RegExp(`^(${NUMBER_SOURCE})\\s*\\*\\s*base$`), (n) => ({ scale: n, offset: 0 })],
  [new RegExp(`^base\\s*\\+\\s*(${NUMBER_SOURCE})$`), (n) => ({ scale: 1, offset: n })],
  [new RegExp(`^base\\s*-\\s*(${NUMBER_SOURCE})$`), (n) => ({ scale: 1, offset: -n })],
  [new RegExp(`^(${NUMBER_SOURCE})$`), (n) => ({ scale: 0, offset: n })],
];
const COMPARE_RE = new RegExp(`^\\s*(${KEY_SOURCE})\\s*(${OP_SOURCE})\\s*(.+?)\\s*$`);

export function parseCompareAssertion(expr: string): CompareAssertion {
  const m = COMPARE_RE.exec(expr);
  if (m) {
    for (const [re, make] of RHS_FORMS) {
      const r = re.exec(m[3]);
      if (r) return { expr: expr.trim(), key: m[1], op: m[2] as AssertOp, ...make(Number(r[1])) };
    }
  }
  throw usageError('--assert', `cannot parse '${expr}': expected KEY OP base * NUMBER (or base, base + NUMBER, base - NUMBER, NUMBER), OP one of < <= > >= ==, e.g. 'p99_ttft_ms <= base * 1.05'`);
}

export interface MetricRow {
  key: string;
  base: number | null;
  new: number | null;
  change: number | null;
  /** change / |base|; null when base is 0 or missing. */
  change_rel: number | null;
}

export interface AssertionVerdict {
  expr: string;
  base: number | null;
  new: number | null;
  bound: number | null;
  /** new − bound: positive breaks a `<`/`<=` gate, negative a `>`/`>=` one. */
  diff: number | null;
  /** Bootstrap interval of `diff` at the confidence asked; null when it was judged on the point values. */
  ci: [number, number] | null;
  basis: 'bootstrap' | 'point';
  /** The interval lies wholly on the failing side (with a point basis: the point value fails). */
  passed: boolean;
  note: string | null;
}

export interface Comparison {
  schema: typeof COMPARE_SCHEMA;
  base: string;
  new: string;
  confidence: number;
  resamples: number;
  seed: number;
  metrics: MetricRow[];
  assertions: AssertionVerdict[];
}

const SKIP_PREFIXES = ['metadata.', 'assertions', 'controller.', 'telemetry.'];

function numericMap(result: unknown): Map<string, number | null> {
  const out = new Map<string, number | null>();
  for (const { key, value } of numericKeyPaths(result)) if (!SKIP_PREFIXES.some((p) => key.startsWith(p))) out.set(key, value);
  return out;
}

/** Every metric the two results share, in the base's order. */
export function sharedMetrics(base: unknown, next: unknown): MetricRow[] {
  const b = numericMap(base);
  const n = numericMap(next);
  const rows: MetricRow[] = [];
  for (const [key, bv] of b) {
    if (!n.has(key)) continue;
    const nv = n.get(key) ?? null;
    if (bv === null && nv === null) continue;
    const change = bv !== null && nv !== null ? nv - bv : null;
    rows.push({ key, base: bv, new: nv, change, change_rel: change !== null && bv !== null && bv !== 0 ? change / Math.abs(bv) : null });
  }
  return rows;
}

/** An unknown key (or one only the base has) is a usage error, before anything is computed. */
export function validateCompareAssertions(asserts: readonly CompareAssertion[], base: unknown, next: unknown): void {
  for (const a of asserts) {
    for (const [name, r] of [['NEW', next], ...(a.scale !== 0 ? [['BASE', base] as const] : [])] as const) {
      const v = lookup(r, a.key.split('.'));
      if (typeof v !== 'number' && v !== null) throw usageError('--assert', `unknown metric '${a.key}' in '${a.expr}': ${name} has no numeric key of that name (keys are result.json paths, e.g. p99_ttft_ms)`);
    }
  }
}

interface RunSamples {
  samples: RequestSample[];
  durationS: number;
}

function runSamples(run: LoadedRun): RunSamples | null {
  const samples = run.records !== null ? samplesFromRecords(run.records) : samplesFromDetailedLists(run.result as Record<string, unknown>);
  return samples === null || samples.length === 0 ? null : { samples, durationS: Number(run.result.duration) };
}

/** A bootstrap resample of n items as draw counts. */
function resample(n: number, rng: Rng, out: Int32Array): Int32Array {
  out.fill(0);
  for (let k = 0; k < n; k++) out[Math.floor(rng.next() * n)]++;
  return out;
}

function quantile(sorted: Float64Array, q: number): number {
  const rank = q * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/**
 * Percentile bootstrap of new − bound(base), resampling each run's requests with replacement
 * (a request brings all its ITL gaps: the unit that is independent), the two runs independently.
 */
function bootstrapDiff(a: CompareAssertion, base: RunSamples | null, next: RunSamples, confidence: number, resamples: number, seed: number): [number, number] | null {
  const onNext = sampleMetric(a.key, next.samples, next.durationS);
  const useBase = a.scale !== 0;
  const onBase = useBase && base !== null ? sampleMetric(a.key, base.samples, base.durationS) : null;
  if (onNext === null || (useBase && onBase === null)) return null;
  const rng = createRng(seed);
  const wN = new Int32Array(next.samples.length);
  const wB = new Int32Array(base?.samples.length ?? 0);
  const diffs = new Float64Array(resamples);
  for (let k = 0; k < resamples; k++) {
    const nv = onNext(resample(wN.length, rng, wN));
    const bv = onBase !== null ? onBase(resample(wB.length, rng, wB)) : 0;
    diffs[k] = nv - (a.scale * bv + a.offset);
  }
  diffs.sort();
  return [quantile(diffs, (1 - confidence) / 2), quantile(diffs, (1 + confidence) / 2)];
}

function value(result: unknown, key: string): number | null {
  const path = key.split('.');
  const v = lookup(result, path);
  return typeof v === 'number' && Number.isFinite(v) && !overNoSamples(result, path) ? v : null;
}

/** A gate fails only when the whole interval is on the failing side: a change the noise can explain passes. */
function judge(op: AssertOp, ci: [number, number]): boolean {
  const [lo, hi] = ci;
  switch (op) {
    case '<':
      return !(lo >= 0);
    case '<=':
      return !(lo > 0);
    case '>':
      return !(hi <= 0);
    case '>=':
      return !(hi < 0);
    case '==':
      return lo <= 0 && hi >= 0;
  }
}

export function compareRuns(base: LoadedRun, next: LoadedRun, asserts: readonly CompareAssertion[], opts: { confidence: number; resamples: number; seed: number }): Comparison {
  validateCompareAssertions(asserts, base.result, next.result);
  const baseSamples = runSamples(base);
  const nextSamples = runSamples(next);
  const verdicts = asserts.map((a, i): AssertionVerdict => {
    const bv = value(base.result, a.key);
    const nv = value(next.result, a.key);
    const bound = a.scale === 0 ? a.offset : bv === null ? null : a.scale * bv + a.offset;
    if (nv === null || bound === null) {
      return { expr: a.expr, base: bv, new: nv, bound, diff: null, ci: null, basis: 'point', passed: false, note: 'no measurement (a statistic over no samples, or not computed): a gate never passes on it' };
    }
    const diff = nv - bound;
    // Each assertion its own stream of draws, so adding one never changes another's interval.
    const ci = nextSamples === null ? null : bootstrapDiff(a, baseSamples, nextSamples, opts.confidence, opts.resamples, opts.seed + i);
    if (ci === null) {
      return { expr: a.expr, base: bv, new: nv, bound, diff, ci: null, basis: 'point', passed: holds(nv, a.op, bound), note: 'no per-request records for this metric: judged on the point values' };
    }
    const passed = judge(a.op, ci);
    const pointPasses = holds(nv, a.op, bound);
    const note = passed && !pointPasses ? `the point value breaks the bound, but within the ${Math.round(opts.confidence * 100)} % interval: not a real change` : null;
    return { expr: a.expr, base: bv, new: nv, bound, diff, ci, basis: 'bootstrap', passed, note };
  });
  return { schema: COMPARE_SCHEMA, base: base.source, new: next.source, confidence: opts.confidence, resamples: opts.resamples, seed: opts.seed, metrics: sharedMetrics(base.result, next.result), assertions: verdicts };
}
