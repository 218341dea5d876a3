import { alignTable } from './text-table.js';
import type { PolicyRow } from '../engine/compare-policies.js';

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** The paper's comparison table of `plan --trace` as header and string cells: the terminal and the HTML report print the same. */
export function policyTable(rows: readonly PolicyRow[]): { head: string[]; body: string[][] } {
  const head = ['policy', 'TPOT att', 'TBT att', 'TBT att TD', 'P95 TBT/S', 'tok/s', 'out tok/s', 'makespan s', 'GPU KV', 'preempt', 'pauses', 'replans', 'solver ms', 'solve p99/step'];
  const body = rows.map((r) => [
    r.policy,
    pct(r.tpot_attainment),
    pct(r.tbt_attainment),
    pct(r.tbt_attainment_td),
    r.p95_tbt_over_slo === null ? 'n/a' : r.p95_tbt_over_slo.toFixed(2),
    r.throughput_tok_s.toFixed(0),
    r.output_throughput_tok_s.toFixed(1),
    r.makespan_s.toFixed(0),
    pct(r.mean_gpu_kv_use),
    String(r.preemptions),
    String(r.pauses),
    String(r.replans),
    r.solver_ms_total.toFixed(0),
    r.solve_p99_over_median_step === null ? '–' : r.solve_p99_over_median_step.toFixed(3),
  ]);
  return { head, body };
}

/** The same table as aligned text. */
export function renderPolicyTable(rows: readonly PolicyRow[]): string {
  const { head, body } = policyTable(rows);
  return alignTable(head, body);
}
