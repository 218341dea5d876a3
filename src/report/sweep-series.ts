import type { SweepKey, SweepPoint } from '../engine/sweep-axes.js';
import type { SweepReport } from '../engine/sweep-report.js';
import { metricValue, type TargetMetric } from '../engine/sweep-target.js';

/** One curve: a policy's metric over the first axis, at one value of the second (a grid's panel). */
export interface SweepSeries {
  policy: string;
  /** The second axis' value this curve is drawn at ({} for a one-key sweep). */
  at: SweepPoint;
  x: SweepKey;
  /** y null where the cell has no row (failed, not run) or the row no value: a gap in the curve. */
  points: { x: number; y: number | null }[];
}

/**
 * The curves of a sweep for one metric, as a report draws them: per policy the metric against the
 * swept value; with two keys one panel per value of the second key. The threshold of a target
 * clause on this metric, if any, is the line to draw across.
 */
export function sweepSeries(r: SweepReport, metric: TargetMetric): { series: SweepSeries[]; threshold: number | null } {
  const [axis, other] = r.axes;
  const panels: SweepPoint[] = other ? other.values.map((v) => ({ [other.key]: v })) : [{}];
  const series: SweepSeries[] = [];
  for (const at of panels) {
    for (const policy of r.policies) {
      const points = axis.values.map((x) => {
        const cell = r.cells.find((c) => c.at[axis.key] === x && (!other || c.at[other.key] === at[other.key]));
        const row = cell?.rows.find((p) => p.policy === policy);
        return { x, y: row ? metricValue(row, metric) : null };
      });
      series.push({ policy, at, x: axis.key, points });
    }
  }
  const clause = r.target?.clauses.find((c) => c.metric === metric);
  return { series, threshold: clause ? clause.threshold : null };
}
