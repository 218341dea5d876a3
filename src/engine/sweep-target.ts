import type { PolicyRow } from './compare-policies.js';

/**
 * `--target 'tbt>=0.9,tpot>=0.9'`: clauses on the comparison's own row keys (orbitflow.comparison/v1),
 * with three short names for the attainments people ask about most.
 */
export const TARGET_METRICS = [
  'tpot_attainment',
  'tbt_attainment',
  'tbt_attainment_td',
  'p95_tbt_over_slo',
  'p95_tbt_ms',
  'throughput_tok_s',
  'output_throughput_tok_s',
  'makespan_s',
  'mean_ttft_ms',
  'mean_tpot_ms',
  'mean_gpu_kv_use',
  'completed',
  'rejected',
  'aborted',
  'preemptions',
  'pauses',
  'h2d_gib',
] as const satisfies readonly (keyof PolicyRow)[];
export type TargetMetric = (typeof TARGET_METRICS)[number];

export const TARGET_ALIASES: Record<string, TargetMetric> = { tbt: 'tbt_attainment', 'tbt-td': 'tbt_attainment_td', tpot: 'tpot_attainment' };

export const TARGET_OPS = ['>=', '<=', '>', '<'] as const;
export type TargetOp = (typeof TARGET_OPS)[number];

export interface TargetClause {
  metric: TargetMetric;
  op: TargetOp;
  threshold: number;
}

/** A row's value of a metric; null where the row has none (e.g. P95 TBT of requests that never finished). */
export function metricValue(row: PolicyRow, metric: TargetMetric): number | null {
  const v = row[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function holds(v: number | null, c: TargetClause): boolean {
  if (v === null) return false;
  switch (c.op) {
    case '>=':
      return v >= c.threshold;
    case '<=':
      return v <= c.threshold;
    case '>':
      return v > c.threshold;
    case '<':
      return v < c.threshold;
  }
}

export function meetsTarget(row: PolicyRow, clauses: readonly TargetClause[]): boolean {
  return clauses.every((c) => holds(metricValue(row, c.metric), c));
}

export function describeTarget(clauses: readonly TargetClause[]): string {
  return clauses.map((c) => `${c.metric}${c.op}${c.threshold}`).join(',');
}

/** One value of the swept axis and the row simulated there (null: the cell failed or was not run). */
export interface AxisSample {
  value: number;
  row: PolicyRow | null;
}

/**
 * The answer for one policy along the answer axis.
 * - `interpolated`: between the last failing and the first meeting cell, linearly on each clause's
 *   metric; the clause that crosses last decides.
 * - `first_cell`: the first cell in the search direction already meets it (the answer is at most, or
 *   with want=max at least, that value).
 * - `cell`: the first meeting cell's value, not interpolated (the cell before it did not run).
 * - `not_met`: no swept cell meets it.
 */
export interface TargetAnswer {
  kind: 'interpolated' | 'first_cell' | 'cell' | 'not_met';
  value: number | null;
  /** The two cells interpolated between (failing, meeting), else null. */
  between: [number, number] | null;
  /** Cells along the axis without a result (failed or not run). */
  missing_cells: number;
  /**
   * Swept values beyond the answer (larger for want=min) whose cell fails the target again: the
   * metric is not monotone in the swept value (e.g. more memory admits a larger batch whose steps
   * are slower), so the answer holds only up to the first of them.
   */
  fails_beyond: number[];
}

/** The fraction of the way from a failing row to a meeting row at which a clause starts to hold. */
function crossing(c: TargetClause, failing: PolicyRow, meeting: PolicyRow): number {
  const a = metricValue(failing, c.metric);
  const b = metricValue(meeting, c.metric);
  if (holds(a, c)) return 0;
  if (a === null || b === null || a === b) return 1;
  return Math.min(1, Math.max(0, (c.threshold - a) / (b - a)));
}

/**
 * The least (want=min) or most (want=max) swept value meeting every clause. Samples must be in
 * ascending order of value. Integer axes round towards the safe side (up for min, down for max).
 */
export function answerTarget(samples: readonly AxisSample[], clauses: readonly TargetClause[], want: 'min' | 'max', integer: boolean): TargetAnswer {
  const ordered = want === 'min' ? [...samples] : [...samples].reverse();
  const missing = samples.filter((s) => s.row === null).length;
  const i = ordered.findIndex((s) => s.row !== null && meetsTarget(s.row, clauses));
  if (i < 0) return { kind: 'not_met', value: null, between: null, missing_cells: missing, fails_beyond: [] };
  const failsBeyond = ordered.slice(i + 1).filter((s) => s.row !== null && !meetsTarget(s.row, clauses)).map((s) => s.value);
  const hit = ordered[i];
  if (i === 0) return { kind: 'first_cell', value: hit.value, between: null, missing_cells: missing, fails_beyond: failsBeyond };
  const before = ordered[i - 1];
  if (before.row === null) return { kind: 'cell', value: hit.value, between: null, missing_cells: missing, fails_beyond: failsBeyond };
  const t = Math.max(...clauses.map((c) => crossing(c, before.row!, hit.row!)));
  let value = before.value + t * (hit.value - before.value);
  if (integer) value = want === 'min' ? Math.ceil(value - 1e-9) : Math.floor(value + 1e-9);
  return { kind: 'interpolated', value, between: [before.value, hit.value], missing_cells: missing, fails_beyond: failsBeyond };
}
