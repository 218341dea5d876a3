import type { Comparison } from '../replay/compare-runs.js';
import { alignTable } from './text-table.js';

/** A number of the comparison: integers whole, others to about four significant digits; null as n/a. */
export function formatNumber(x: number | null): string {
  if (x === null) return 'n/a';
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(3) : x.toPrecision(3);
}

function pct(x: number | null): string {
  return x === null ? '' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`;
}

/** `orbitflow compare`'s table: each metric of BASE and NEW, the change, and the gates' verdicts. */
export function formatComparison(c: Comparison): string {
  const head = ['metric', 'base', 'new', 'change', ''];
  const body = c.metrics.map((m) => [m.key, formatNumber(m.base), formatNumber(m.new), m.change === null ? '' : `${m.change >= 0 ? '+' : ''}${formatNumber(m.change)}`, pct(m.change_rel)]);
  const table = alignTable(head, body).split('\n').map((l) => l.trimEnd());
  const out = [`orbitflow compare: BASE ${c.base}  →  NEW ${c.new}`, '', ...table];
  if (c.assertions.length > 0) {
    out.push('', `Gates (bootstrap, ${c.resamples} resamples, ${Math.round(c.confidence * 1000) / 10} % intervals, seed ${c.seed}):`);
    for (const a of c.assertions) {
      const ci = a.ci ? `new − bound in [${formatNumber(a.ci[0])}, ${formatNumber(a.ci[1])}]` : 'point values';
      out.push(`  ${a.passed ? 'PASS' : 'FAIL'} ${a.expr}: new ${formatNumber(a.new)}, bound ${formatNumber(a.bound)} (base ${formatNumber(a.base)}); ${ci}${a.note ? ` — ${a.note}` : ''}`);
    }
  }
  return `${out.join('\n')}\n`;
}
