import type { SweepReport } from '../engine/sweep-report.js';
import type { TargetMetric } from '../engine/sweep-target.js';
import { describePoint } from '../engine/sweep-axes.js';
import { renderSweepCells, renderSweepTarget } from '../ui/sweep-table.js';
import { REPORT_SCHEMA, type Report, type ReportItem, type ReportSection, type XyChart } from './model.js';
import { sweepSeries } from './sweep-series.js';

/** The curves every sweep report draws, besides the target's own metrics. */
const CURVES: ReadonlyArray<{ metric: TargetMetric; title: string; yLabel: string }> = [
  { metric: 'tbt_attainment', title: 'TBT attainment', yLabel: 'attainment' },
  { metric: 'tpot_attainment', title: 'TPOT attainment', yLabel: 'attainment' },
  { metric: 'output_throughput_tok_s', title: 'Output throughput', yLabel: 'tokens/s' },
  { metric: 'mean_gpu_kv_use', title: 'Mean GPU KV use', yLabel: 'used / budget' },
];

/** A sweep's HTML report: per metric, each policy's curve over the swept value (one panel per value of a grid's second key). */
export function buildSweepPage(r: SweepReport, command: readonly string[]): Report {
  const [axis, other] = r.axes;
  const metrics = [...CURVES];
  for (const c of r.target?.clauses ?? []) if (!metrics.some((m) => m.metric === c.metric)) metrics.push({ metric: c.metric, title: c.metric, yLabel: c.metric });
  const sections: ReportSection[] = [];
  if (r.target) {
    sections.push({
      heading: `Target: ${r.target.text}`,
      intro: `Per policy, the ${r.target.want === 'min' ? 'least' : 'most'} ${r.target.axis} that meets every clause, interpolated between the swept cells where it says so.`,
      items: [{ kind: 'text', title: 'As the terminal prints it', text: renderSweepTarget(r) }],
    });
  }
  const items: ReportItem[] = [];
  for (const m of metrics) {
    const { series, threshold } = sweepSeries(r, m.metric);
    const panels = other ? other.values.map((v) => ({ [other.key]: v })) : [{}];
    panels.forEach((at, i) => {
      const inPanel = series.filter((s) => Object.entries(at).every(([k, v]) => s.at[k as keyof typeof s.at] === v));
      const chart: XyChart = {
        kind: 'line',
        id: `sweep-${m.metric}-${i}`,
        title: `${m.title} against ${axis.what}${other ? ` (${describePoint(at)})` : ''}`,
        xLabel: `${axis.key}${axis.unit ? ` (${axis.unit})` : ''}`,
        yLabel: m.yLabel,
        series: inPanel.map((s) => ({ label: s.policy, x: s.points.map((p) => p.x), y: s.points.map((p) => p.y) })),
        ...(threshold !== null ? { rules: [{ axis: 'y' as const, value: threshold, label: `target ${threshold}` }] } : {}),
        note: 'A gap is a cell that failed or was not run.',
      };
      items.push(chart);
    });
  }
  sections.push({ heading: 'Curves', intro: 'Every policy on the same requests and seed, in virtual time; one point per swept cell.', items });
  sections.push({ heading: 'Every cell', items: [{ kind: 'text', title: 'As the terminal prints it', text: renderSweepCells(r) }] });
  if (r.notes.length > 0) sections.push({ heading: 'Notes', items: [{ kind: 'table', title: 'Notes', head: ['note'], rows: r.notes.map((n) => [n]) }] });
  return {
    schema: REPORT_SCHEMA,
    kind: 'plan-sweep',
    title: `orbitflow plan --sweep: ${r.trace.file}`,
    header: [
      ['command', command.join(' ')],
      ['profile', r.profile.provenance],
      ['trace', `${r.trace.file}${r.trace.window ? ` (window ${r.trace.window})` : ''}`],
      ['model', `${r.model} (TP ${r.tp})`],
      ['SLO', r.slo.source],
      ['swept', r.axes.map((a) => `${a.key} = ${a.values.join(', ')}`).join('; ')],
      ['policies', r.policies.join(', ')],
    ],
    sections,
  };
}
