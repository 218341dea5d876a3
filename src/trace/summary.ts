import { percentileSorted } from '../core/stats.js';
import { openTrace, type TraceReadStats } from './open.js';
import type { TraceOptions } from './options.js';
import type { TraceFormat } from './types.js';

export interface TokenStats {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
  total: number;
}

/** What `replay TRACE --dry-run` shows: the transformed stream as the replay would send it. */
export interface TraceSummary {
  file: string;
  format: TraceFormat;
  options: { window: { startS: number; durationS: number } | null; limit: number | null; speedup: number; rateScale: number; jitterMs: number; seed: number; maxInput: number | null; maxOutput: number | null; maxDurationS: number | null };
  requests: number;
  rowsRead: number;
  rowsSkipped: number;
  rowsFiltered: number;
  rowsOutsideWindow: number;
  rowsThinned: number;
  rowsReplicated: number;
  firstArrivalS: number;
  lastArrivalS: number;
  /** last − first arrival. */
  durationS: number;
  /** requests / duration (0 when the duration is 0). */
  meanArrivalRate: number;
  /** Population std / mean of the gaps between consecutive arrivals. */
  interArrivalCv: number;
  input: TokenStats;
  output: TokenStats;
  totalTokens: number;
  /** Distinct arrival instants in the transformed stream (after jitter and speed-up). */
  distinctArrivals: number;
  /** Source-timestamp quantisation, detected before jitter. */
  quantisation: TraceReadStats['quantisation'];
  clampedInput: number;
  clampedOutput: number;
  warnings: string[];
}

/** A growable Uint32Array: token counts of millions of requests without boxing each number. */
class U32List {
  private buf = new Uint32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Uint32Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  sorted(): Uint32Array {
    return this.buf.slice(0, this.length).sort();
  }
}

function tokenStats(list: U32List, total: number): TokenStats {
  const s = list.sorted();
  // percentileSorted only indexes and reads length, which a typed array provides.
  const arr = s as unknown as readonly number[];
  return {
    mean: s.length === 0 ? 0 : total / s.length,
    p50: percentileSorted(arr, 50),
    p90: percentileSorted(arr, 90),
    p99: percentileSorted(arr, 99),
    min: s.length === 0 ? 0 : s[0],
    max: s.length === 0 ? 0 : s[s.length - 1],
    total,
  };
}

/** Reads the trace through every transform and summarises what a replay would send. */
export async function summariseTrace(file: string, options: Partial<TraceOptions> = {}): Promise<TraceSummary> {
  const trace = openTrace(file, options);
  const inputs = new U32List();
  const outputs = new U32List();
  let inputTotal = 0;
  let outputTotal = 0;
  let first = 0;
  let last = 0;
  let n = 0;
  let distinct = 0;
  // Welford over inter-arrival gaps.
  let gaps = 0;
  let gapMean = 0;
  let gapM2 = 0;
  for await (const r of trace.requests()) {
    if (n === 0) {
      first = r.arrivalS;
      distinct = 1;
    } else {
      const gap = r.arrivalS - last;
      if (gap !== 0) distinct++;
      gaps++;
      const d = gap - gapMean;
      gapMean += d / gaps;
      gapM2 += d * (gap - gapMean);
    }
    last = r.arrivalS;
    n++;
    inputs.push(r.inputTokens);
    outputs.push(r.outputTokens);
    inputTotal += r.inputTokens;
    outputTotal += r.outputTokens;
  }
  const s = trace.stats();
  const durationS = n === 0 ? 0 : last - first;
  const o = options;
  return {
    file,
    format: trace.format,
    options: {
      window: o.window ?? null,
      limit: o.limit ?? null,
      speedup: o.speedup ?? 1,
      rateScale: o.rateScale ?? 1,
      jitterMs: o.jitterMs ?? 0,
      seed: o.seed ?? 0,
      maxInput: o.maxInput ?? null,
      maxOutput: o.maxOutput ?? null,
      maxDurationS: o.maxDurationS ?? null,
    },
    requests: n,
    rowsRead: s.rowsRead,
    rowsSkipped: s.rowsSkipped,
    rowsFiltered: s.rowsFiltered,
    rowsOutsideWindow: s.rowsOutsideWindow,
    rowsThinned: s.rowsThinned,
    rowsReplicated: s.rowsReplicated,
    firstArrivalS: first,
    lastArrivalS: last,
    durationS,
    meanArrivalRate: durationS > 0 ? n / durationS : 0,
    interArrivalCv: gaps === 0 || gapMean === 0 ? 0 : Math.sqrt(gapM2 / gaps) / gapMean,
    input: tokenStats(inputs, inputTotal),
    output: tokenStats(outputs, outputTotal),
    totalTokens: inputTotal + outputTotal,
    distinctArrivals: distinct,
    quantisation: s.quantisation,
    clampedInput: s.clampedInput,
    clampedOutput: s.clampedOutput,
    warnings: s.warnings,
  };
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

function tokenJson(t: TokenStats): Record<string, number> {
  return { mean: round(t.mean, 3), p50: round(t.p50, 3), p90: round(t.p90, 3), p99: round(t.p99, 3), min: t.min, max: t.max, total: t.total };
}

/** The summary as `replay --dry-run --json` prints it (snake_case keys, plain JSON values). */
export function traceSummaryJson(s: TraceSummary): Record<string, unknown> {
  return {
    file: s.file,
    format: s.format,
    options: {
      window: s.options.window === null ? null : { start_s: s.options.window.startS, duration_s: s.options.window.durationS },
      limit: s.options.limit,
      speedup: s.options.speedup,
      rate_scale: s.options.rateScale,
      jitter_ms: s.options.jitterMs,
      seed: s.options.seed,
      max_input: s.options.maxInput,
      max_output: s.options.maxOutput,
      max_duration_s: s.options.maxDurationS,
    },
    requests: s.requests,
    rows_read: s.rowsRead,
    rows_skipped: s.rowsSkipped,
    rows_filtered: s.rowsFiltered,
    rows_outside_window: s.rowsOutsideWindow,
    rows_thinned: s.rowsThinned,
    rows_replicated: s.rowsReplicated,
    first_arrival_s: s.firstArrivalS,
    last_arrival_s: s.lastArrivalS,
    duration_s: s.durationS,
    mean_arrival_rate: round(s.meanArrivalRate, 6),
    inter_arrival_cv: round(s.interArrivalCv, 6),
    input_tokens: tokenJson(s.input),
    output_tokens: tokenJson(s.output),
    total_tokens: s.totalTokens,
    distinct_arrivals: s.distinctArrivals,
    quantisation: s.quantisation === null ? null : { distinct_timestamps: s.quantisation.distinctTimestamps, grid_ms: s.quantisation.gridMs },
    clamped_input: s.clampedInput,
    clamped_output: s.clampedOutput,
    warnings: s.warnings,
  };
}

const int = (x: number): string => Math.round(x).toLocaleString('en-US');
const num = (x: number, digits = 1): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Plain-text block for the terminal. */
export function formatTraceSummary(s: TraceSummary): string {
  const lines: string[] = [];
  const o = s.options;
  const applied: string[] = [];
  if (o.window !== null) applied.push(`window ${o.window.startS}:${o.window.durationS} s`);
  if (o.limit !== null) applied.push(`limit ${o.limit}`);
  if (o.speedup !== 1) applied.push(`speedup ${o.speedup}×`);
  if (o.rateScale !== 1) applied.push(`rate scale ${o.rateScale}×`);
  if (o.jitterMs !== 0) applied.push(`jitter ±${o.jitterMs / 2} ms`);
  if (o.maxInput !== null) applied.push(`max input ${o.maxInput}`);
  if (o.maxOutput !== null) applied.push(`max output ${o.maxOutput}`);
  if (o.maxDurationS !== null) applied.push(`max duration ${o.maxDurationS} s`);
  if (o.rateScale !== 1 || o.jitterMs !== 0) applied.push(`seed ${o.seed}`);
  lines.push(`trace       ${s.file} (${s.format})`);
  if (applied.length > 0) lines.push(`transforms  ${applied.join(', ')}`);
  const dropped: string[] = [];
  if (s.rowsSkipped > 0) dropped.push(`${int(s.rowsSkipped)} malformed skipped`);
  if (s.rowsFiltered > 0) dropped.push(`${int(s.rowsFiltered)} filtered`);
  if (s.rowsOutsideWindow > 0) dropped.push(`${int(s.rowsOutsideWindow)} outside the window`);
  if (s.rowsThinned > 0) dropped.push(`${int(s.rowsThinned)} thinned`);
  if (s.rowsReplicated > 0) dropped.push(`${int(s.rowsReplicated)} replicas added`);
  lines.push(`requests    ${int(s.requests)} from ${int(s.rowsRead)} rows read${dropped.length > 0 ? ` (${dropped.join(', ')})` : ''}`);
  lines.push(`duration    ${num(s.durationS)} s (${num(s.durationS / 60)} min), arrivals ${num(s.firstArrivalS, 3)}–${num(s.lastArrivalS, 3)} s`);
  lines.push(`rate        ${num(s.meanArrivalRate, 2)} req/s mean, inter-arrival CV ${num(s.interArrivalCv, 2)}`);
  const cols = ['mean', 'p50', 'p90', 'p99', 'min', 'max', 'total'];
  const row = (name: string, t: TokenStats): string =>
    [name.padEnd(10), num(t.mean).padStart(9), ...[t.p50, t.p90, t.p99].map((v) => (Number.isInteger(v) ? int(v) : num(v)).padStart(9)), int(t.min).padStart(9), int(t.max).padStart(9), int(t.total).padStart(14)].join(' ');
  lines.push(['tokens    ', ...cols.slice(0, 6).map((c) => c.padStart(9)), 'total'.padStart(14)].join(' '));
  lines.push(row('  input', s.input));
  lines.push(row('  output', s.output));
  lines.push(`            ${int(s.totalTokens)} tokens in all`);
  const q = s.quantisation;
  lines.push(
    q === null
      ? `timestamps  ${int(s.distinctArrivals)} distinct arrival instants; not quantised`
      : `timestamps  quantised: ${int(q.distinctTimestamps)} distinct source timestamps on a ~${int(q.gridMs)} ms grid; ${int(s.distinctArrivals)} distinct after transforms`,
  );
  if (s.clampedInput > 0 || s.clampedOutput > 0) lines.push(`clamped     input ${int(s.clampedInput)}, output ${int(s.clampedOutput)}`);
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
