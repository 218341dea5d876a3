import { alignTable } from './text-table.js';

/** One metric, predicted vs measured. */
export interface ComparedMetricView {
  predicted: number;
  measured: number;
  signed_error: number | null;
}

/** What the table needs of an `orbitflow.validation/v1` report. */
export interface ValidationView {
  profile: { provenance: string };
  run: { dir: string; endpoint: string | null; requests: number; completed: number };
  simulation: Record<string, unknown>;
  metrics: Record<string, ComparedMetricView>;
  ttft_mape: number | null;
  tpot_mape: number | null;
  requests_compared: number;
  assertions: Array<{ expr: string; actual: number | null; passed: boolean }>;
}

const LABELS: Record<string, string> = {
  ttft_p50: 'TTFT p50 (ms)', ttft_p90: 'TTFT p90 (ms)', ttft_p99: 'TTFT p99 (ms)',
  tpot_p50: 'TPOT p50 (ms)', tpot_p90: 'TPOT p90 (ms)', tpot_p99: 'TPOT p99 (ms)',
  itl_p50: 'ITL p50 (ms)', itl_p90: 'ITL p90 (ms)', itl_p99: 'ITL p99 (ms)',
  e2el_p50: 'E2EL p50 (ms)', e2el_p90: 'E2EL p90 (ms)', e2el_p99: 'E2EL p99 (ms)',
  request_throughput: 'Request throughput (req/s)', output_throughput: 'Output throughput (tok/s)',
  max_concurrent_requests: 'Peak concurrent requests',
};

function num(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(2);
}

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`;
}

/** Predicted vs measured, side by side, as plain text (the provenance line first). */
export function validationTable(r: ValidationView): string {
  const s = r.simulation;
  const head = [
    r.profile.provenance,
    `predicted: the reference engine in virtual time, policy ${s.policy}, GPU KV ${s.budget_blocks} blocks (${s.budget_source}), max-num-seqs ${s.max_num_seqs} (${s.max_num_seqs_source}), noise CV ${s.noise_cv} (${s.noise_cv_source}), step overhead ${s.step_overhead_ms} ms, seed ${s.seed}`,
    `measured: ${r.run.completed} of ${r.run.requests} requests of the replay in ${r.run.dir}${r.run.endpoint ? ` against ${r.run.endpoint}` : ''}`,
    '',
  ];
  const rows = Object.entries(r.metrics).map(([k, m]) => [LABELS[k] ?? k, num(m.predicted), num(m.measured), pct(m.signed_error)]);
  const cols = ['metric', 'predicted', 'measured', 'error'];
  const body = [alignTable(cols, rows)];
  const mape = (x: number | null): string => (x === null ? 'n/a' : `${(100 * x).toFixed(1)} %`);
  const tail = [`per-request MAPE over ${r.requests_compared} requests: TTFT ${mape(r.ttft_mape)}, TPOT ${mape(r.tpot_mape)}`];
  for (const a of r.assertions) tail.push(`${a.passed ? 'PASS' : 'FAIL'} ${a.expr} (actual ${a.actual === null ? 'n/a' : +a.actual.toPrecision(6)})`);
  return `${[...head, ...body, '', ...tail].join('\n')}\n`;
}
