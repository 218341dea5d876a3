import { describePoint, SWEEP_AXES, type SweepKey, type SweepPoint } from '../engine/sweep-axes.js';
import type { SweepMinimum, SweepReport } from '../engine/sweep-report.js';
import { metricValue, meetsTarget, type TargetMetric } from '../engine/sweep-target.js';

const ATTAINMENTS: ReadonlySet<string> = new Set(['tpot_attainment', 'tbt_attainment', 'tbt_attainment_td', 'mean_gpu_kv_use']);

function fmtMetric(metric: TargetMetric, v: number | null): string {
  if (v === null) return 'n/a';
  if (ATTAINMENTS.has(metric)) return `${(100 * v).toFixed(1)}%`;
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}

function fmtValue(key: SweepKey, v: number): string {
  const unit = SWEEP_AXES[key].unit;
  const n = SWEEP_AXES[key].integer ? String(v) : Number(v.toFixed(2)).toString();
  return unit.startsWith('×') ? `${n}${unit.slice(0, 1)}` : `${n} ${unit}`;
}

function table(head: string[], body: string[][], align: 'numbers' | 'text' = 'numbers'): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 || align === 'text' ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n');
}

/** The metrics the cell table shows: the target's, else TBT and TPOT attainment. */
function shownMetrics(r: SweepReport): TargetMetric[] {
  const fromTarget = r.target ? [...new Set(r.target.clauses.map((c) => c.metric))] : [];
  return fromTarget.length > 0 ? fromTarget : ['tbt_attainment', 'tpot_attainment'];
}

/** One line per cell, one column per policy: the shown metrics (✓ where the target is met), or why there is no row. */
export function renderSweepCells(r: SweepReport): string {
  const metrics = shownMetrics(r);
  const head = [r.axes.map((a) => a.key).join(' × '), ...r.policies];
  const footnotes: string[] = [];
  const body = r.cells.map((c) => {
    const label = r.axes.map((a) => fmtValue(a.key, c.at[a.key]!)).join(' × ');
    return [
      label,
      ...r.policies.map((p) => {
        const row = c.rows.find((x) => x.policy === p);
        if (row) {
          const text = metrics.map((m) => fmtMetric(m, metricValue(row, m))).join(' / ');
          return r.target ? `${text} ${meetsTarget(row, r.target.clauses) ? '✓' : '·'}` : text;
        }
        const failed = c.failed.find((f) => f.policy === p);
        if (failed) {
          footnotes.push(`  [${label}, ${p}] failed: ${failed.error}`);
          return 'FAILED';
        }
        return 'not run';
      }),
    ];
  });
  const what = `${metrics.join(' / ')} per cell${r.target ? ` (✓ meets ${r.target.text})` : ''}`;
  return [what, table(head, body), ...footnotes].join('\n');
}

function fmtAnswer(key: SweepKey, m: SweepMinimum, range: string): string {
  const again = m.fails_beyond.length > 0 ? `; fails again at ${m.fails_beyond.map((v) => fmtValue(key, v)).join(', ')}` : '';
  return `${fmtAnswerKind(key, m, range)}${again}`;
}

function fmtAnswerKind(key: SweepKey, m: SweepMinimum, range: string): string {
  const want = SWEEP_AXES[key].want;
  switch (m.kind) {
    case 'not_met':
      return m.missing_cells > 0 ? `not met in the cells that ran (${m.missing_cells} of the range ${range} without a result)` : `not met within the swept range (${range})`;
    case 'first_cell':
      return `${want === 'min' ? '≤' : '≥'} ${fmtValue(key, m.value!)} (the ${want === 'min' ? 'smallest' : 'largest'} swept value already meets it)`;
    case 'cell':
      return `${fmtValue(key, m.value!)} (the cell before it has no result)`;
    case 'interpolated':
      return `≈${fmtValue(key, m.value!)} (interpolated between ${m.between![0]} and ${m.between![1]})`;
  }
}

function shortAnswer(key: SweepKey, m: SweepMinimum | undefined): string {
  if (!m || m.value === null) return 'not met';
  const prefix = m.kind === 'first_cell' ? (SWEEP_AXES[key].want === 'min' ? '≤ ' : '≥ ') : m.kind === 'interpolated' ? '≈' : '';
  return `${prefix}${fmtValue(key, m.value)}`;
}

function pctChange(x: number): string {
  const p = Math.round(100 * x);
  return `${p > 0 ? '+' : p < 0 ? '−' : '±'}${Math.abs(p)} %`;
}

/** The target's answer per policy, then the reference policy against each other. */
export function renderSweepTarget(r: SweepReport): string {
  if (!r.target) return '';
  const axis = r.axes[0];
  const key = axis.key;
  const range = `${fmtValue(key, axis.values[0])}–${fmtValue(key, axis.values[axis.values.length - 1])}`;
  const wantWord = SWEEP_AXES[key].want === 'min' ? 'least' : 'most';
  const lines: string[] = [`target ${r.target.text}: the ${wantWord} ${key} meeting it, per policy`];
  const groups: SweepPoint[] = [...new Map(r.minimums.map((m) => [describePoint(m.at), m.at])).values()];
  for (const at of groups) {
    if (groups.length > 1) lines.push(`at ${describePoint(at)}:`);
    const here = r.minimums.filter((m) => describePoint(m.at) === describePoint(at));
    lines.push(table(['policy', key], here.map((m) => [m.policy, fmtAnswer(key, m, range)]), 'text'));
    const cmp = r.comparisons.filter((c) => describePoint(c.at) === describePoint(at));
    const ref = here.find((m) => m.policy === cmp[0]?.reference);
    for (const c of cmp) {
      const other = here.find((m) => m.policy === c.policy);
      if (c.reference_value === null && c.policy_value === null) continue;
      if (ref?.kind === 'first_cell' && other?.kind === 'first_cell') {
        lines.push(`${c.reference} and ${c.policy} both meet the target at the ${SWEEP_AXES[key].want === 'min' ? 'smallest' : 'largest'} swept value (${shortAnswer(key, ref)}): sweep further to compare them`);
        continue;
      }
      const refText = ref && ref.value !== null ? `meets the target with ${shortAnswer(key, ref)}` : 'does not meet the target within the swept range';
      const otherText = other && other.value !== null ? `${c.policy} with ${shortAnswer(key, other)}` : `${c.policy} not within the swept range`;
      const change = c.change !== null ? ` (${c.bounded ? 'bound: ' : ''}${pctChange(c.change)})` : '';
      lines.push(`${c.reference} ${refText}, ${otherText}${change}`);
    }
  }
  return lines.join('\n');
}

export function renderSweep(r: SweepReport): string {
  const parts = [renderSweepCells(r)];
  const target = renderSweepTarget(r);
  if (target) parts.push(target);
  return `${parts.join('\n\n')}\n`;
}
