import type { RunResult } from '../replay/run-result.js';
import { alignTable } from './text-table.js';

/** One run of `replay --compare`: the controller's, or a static baseline's on the same trace and seed. */
export interface CompareRow {
  policy: string;
  result: RunResult;
}

/** The wall-clock comparison table of `--compare`. */
export function formatComparison(rows: readonly CompareRow[]): string {
  const pct = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  const num = (x: number | null | undefined, d = 1): string => (x === null || x === undefined ? 'n/a' : x.toFixed(d));
  const head = ['policy', 'TPOT att', 'TBT att (requests)', 'TBT att (tokens)', 'TBT att (tokens, TD)', 'p99 TBT ms', 'mean TPOT ms', 'mean TTFT ms', 'out tok/s', 'failed'];
  const body = rows.map(({ policy, result: r }) => {
    const att = r.slo_attainment;
    return [
      policy,
      pct(att?.tpot),
      pct(att?.tbt),
      pct(att?.tbt_tokens?.attainment_no_td),
      pct(att?.tbt_tokens?.attainment_td),
      num(r.tbt_ms.p99),
      num(r.mean_tpot_ms as number),
      num(r.mean_ttft_ms as number),
      num(r.output_throughput as number),
      String(r.failed),
    ];
  });
  return `\nComparison on the embedded engine (same trace, same seed; wall clock):\n${alignTable(head, body)}\n`;
}
