import type { PolicyRow } from './compare-policies.js';
import { SWEEP_AXES, type SweepAxis, type SweepKey, type SweepPoint } from './sweep-axes.js';
import { answerTarget, describeTarget, type TargetAnswer, type TargetClause } from './sweep-target.js';

export const SWEEP_SCHEMA = 'orbitflow.sweep/v1';

/** One cell of the grid: its settings as simulated and, per policy, a row or why there is none. */
export interface SweepCell {
  index: number;
  at: SweepPoint;
  budget_blocks: number;
  budget_gib: number;
  max_num_seqs: number;
  rate_scale: number;
  slo_ms: number;
  requests: number;
  rows: PolicyRow[];
  failed: { policy: string; error: string }[];
  /** Policies not simulated because the run was interrupted. */
  not_run: string[];
}

/** The answer to the target for one policy (at one value of the second axis, in a grid). */
export interface SweepMinimum extends TargetAnswer {
  policy: string;
  at: SweepPoint;
}

/** `reference` against `policy` where both have an answer: reference / policy − 1 (−0.47 = 47 % less). */
export interface SweepComparison {
  at: SweepPoint;
  reference: string;
  policy: string;
  reference_value: number | null;
  policy_value: number | null;
  change: number | null;
  /** True where either side is a bound (the first cell already met it) rather than an estimate. */
  bounded: boolean;
}

export interface SweepHeader {
  created: string;
  tool: string;
  model: string;
  tp: number;
  profile: { id: string; file: string; sha256: string; provenance: string };
  trace: { file: string; format: string; window: string | null; requests_at_rate_1: number; rows_skipped: number; warnings: string[] };
  engine: { max_num_seqs: number; noise_cv: number; step_overhead_ms: number; host_kv_gib: number | null; seed: number; budget_gib: number | null };
  slo: { source: string; base_ms: number; scale: number | null; tpot_ms: number | null; reference: string };
  solver_latency: string;
  jobs: number;
}

/** orbitflow.sweep/v1: what the terminal table, the JSON and a report's curves are drawn from. */
export interface SweepReport extends SweepHeader {
  schema: typeof SWEEP_SCHEMA;
  /** `what`: the axis' name for a chart's label. */
  axes: (SweepAxis & { unit: string; want: 'min' | 'max'; what: string })[];
  policies: string[];
  target: { text: string; clauses: TargetClause[]; axis: SweepKey; want: 'min' | 'max' } | null;
  cells: SweepCell[];
  minimums: SweepMinimum[];
  comparisons: SweepComparison[];
  complete: boolean;
  interrupted: boolean;
  wall_s: number;
  /** Σ of each simulation's own wall time: what one-by-one would have taken, roughly. */
  simulation_wall_s_total: number;
  wall_clock_fields: string[];
  notes: string[];
}

export interface SweepInputs {
  header: SweepHeader;
  axes: readonly SweepAxis[];
  policies: readonly string[];
  target: TargetClause[] | null;
  cells: SweepCell[];
  interrupted: boolean;
  wall_s: number;
  notes: string[];
}

const samePoint = (a: SweepPoint, b: SweepPoint): boolean => Object.entries(b).every(([k, v]) => a[k as SweepKey] === v);

/** The reference side of the ratios: orbitflow where it was asked for, else the first policy. */
export function referencePolicy(policies: readonly string[]): string {
  return policies.includes('orbitflow') ? 'orbitflow' : policies[0];
}

function minimumsOf(axes: readonly SweepAxis[], policies: readonly string[], clauses: readonly TargetClause[], cells: readonly SweepCell[]): SweepMinimum[] {
  const [axis, other] = axes;
  const def = SWEEP_AXES[axis.key];
  const groups: SweepPoint[] = other ? other.values.map((v) => ({ [other.key]: v })) : [{}];
  const out: SweepMinimum[] = [];
  for (const at of groups) {
    for (const policy of policies) {
      const samples = axis.values.map((value) => {
        const cell = cells.find((c) => c.at[axis.key] === value && samePoint(c.at, at));
        return { value, row: cell?.rows.find((r) => r.policy === policy) ?? null };
      });
      out.push({ policy, at, ...answerTarget(samples, clauses, def.want, def.integer) });
    }
  }
  return out;
}

function comparisonsOf(minimums: readonly SweepMinimum[], policies: readonly string[]): SweepComparison[] {
  const ref = referencePolicy(policies);
  const out: SweepComparison[] = [];
  for (const m of minimums) {
    if (m.policy !== ref) continue;
    for (const o of minimums) {
      if (o.policy === ref || !samePoint(o.at, m.at)) continue;
      const change = m.value !== null && o.value !== null && o.value !== 0 ? m.value / o.value - 1 : null;
      out.push({ at: m.at, reference: ref, policy: o.policy, reference_value: m.value, policy_value: o.value, change, bounded: m.kind === 'first_cell' || o.kind === 'first_cell' });
    }
  }
  return out;
}

export function buildSweepReport(i: SweepInputs): SweepReport {
  const answers = i.target ? minimumsOf(i.axes, i.policies, i.target, i.cells) : [];
  const axis = i.axes[0];
  return {
    schema: SWEEP_SCHEMA,
    ...i.header,
    axes: i.axes.map((a) => ({ ...a, unit: SWEEP_AXES[a.key].unit, want: SWEEP_AXES[a.key].want, what: SWEEP_AXES[a.key].what })),
    policies: [...i.policies],
    target: i.target ? { text: describeTarget(i.target), clauses: i.target, axis: axis.key, want: SWEEP_AXES[axis.key].want } : null,
    cells: i.cells,
    minimums: answers,
    comparisons: comparisonsOf(answers, i.policies),
    complete: i.cells.every((c) => c.failed.length === 0 && c.not_run.length === 0),
    interrupted: i.interrupted,
    wall_s: i.wall_s,
    simulation_wall_s_total: i.cells.reduce((s, c) => s + c.rows.reduce((t, r) => t + (r.simulation_wall_s ?? 0), 0), 0),
    wall_clock_fields: ['created', 'jobs', 'wall_s', 'simulation_wall_s_total', 'simulation_wall_s', 'solver_wall_ms_total'],
    notes: i.notes,
  };
}
