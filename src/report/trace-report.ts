import { GIB } from '../core/units.js';
import type { PolicyRow } from '../engine/compare-policies.js';
import type { UsageSeries } from '../engine/usage-series.js';
import { policyTable } from '../ui/policy-table.js';
import { MAX_POINTS, round } from './downsample.js';
import { REPORT_SCHEMA, type BarChart, type Report, type ReportItem, type ReportSection, type XySeries } from './model.js';

/** The parts of `orbitflow.comparison/v1` (plan --trace) the report shows. */
export interface ComparisonSummary {
  model: string;
  tp: number;
  profile: { id: string; file: string; provenance: string };
  trace: { file: string; format: string; requests: number; input_tokens: number; output_tokens: number };
  engine: { budget_blocks: number; budget_gib: number; max_num_seqs: number; noise_cv: number; step_overhead_ms: number; seed: number };
  slo_ms: number;
  slo_source: string;
  solver_latency: string;
  scoring: string;
  rows: readonly PolicyRow[];
  notes: readonly string[];
}

export interface TraceReportInput {
  comparison: ComparisonSummary;
  usage: ReadonlyArray<{ policy: string; series: UsageSeries }>;
  /** The ablation ladder, in order, when --policy asked for it. */
  ladder?: readonly string[];
  command: readonly string[];
}

/** Merges `k` adjacent 1 s buckets into one: step-weighted mean use, traffic as GiB/s. */
function usagePoints(s: UsageSeries, k: number): { t: number[]; use: Array<number | null>; h2dGibS: number[] } {
  const t: number[] = [];
  const use: Array<number | null> = [];
  const h2d: number[] = [];
  for (let i = 0; i < s.steps.length; i += k) {
    let n = 0;
    let u = 0;
    let b = 0;
    for (let j = i; j < Math.min(s.steps.length, i + k); j++) {
      n += s.steps[j];
      u += (s.gpuKvUse[j] ?? 0) * s.steps[j];
      b += s.h2dBytes[j];
    }
    t.push(round(i * s.bucketS));
    use.push(n > 0 ? round(u / n) : null);
    h2d.push(round(b / GIB / (k * s.bucketS)));
  }
  return { t, use, h2dGibS: h2d };
}

function attainmentBars(id: string, title: string, rows: readonly PolicyRow[]): BarChart {
  return {
    kind: 'bar',
    id,
    title,
    yLabel: 'attainment',
    fraction: true,
    categories: rows.map((r) => r.policy),
    series: [
      { label: 'TPOT attainment (requests)', values: rows.map((r) => r.tpot_attainment) },
      { label: 'TBT attainment (tokens, no TD)', values: rows.map((r) => r.tbt_attainment) },
      { label: 'TBT attainment (tokens, Token-Deposit)', values: rows.map((r) => r.tbt_attainment_td) },
    ],
  };
}

export function buildTraceReport(input: TraceReportInput): Report {
  const c = input.comparison;
  const rows = c.rows;
  const table = policyTable(rows);
  const sections: ReportSection[] = [
    {
      heading: 'Policies side by side',
      intro: c.scoring,
      items: [
        { kind: 'table', title: 'Comparison (as the terminal prints it)', head: table.head, rows: table.body },
        attainmentBars('policy-attainment', `SLO attainment per policy (S = ${c.slo_ms.toFixed(2)} ms/token)`, rows),
        {
          kind: 'bar',
          id: 'policy-throughput',
          title: 'Throughput per policy',
          yLabel: 'tokens/s',
          categories: rows.map((r) => r.policy),
          series: [
            { label: 'tokens/s (input of completed + decoded)', values: rows.map((r) => r.throughput_tok_s) },
            { label: 'output tokens/s', values: rows.map((r) => r.output_throughput_tok_s) },
          ],
        },
        {
          kind: 'bar',
          id: 'policy-traffic',
          title: 'Host→GPU traffic per policy (whole run)',
          yLabel: 'GiB',
          stacked: true,
          categories: rows.map((r) => r.policy),
          series: [
            { label: 'fetches of offloaded layers', values: rows.map((r) => r.h2d_gib) },
            { label: 'reloads (layers made resident again)', values: rows.map((r) => r.reload_gib) },
          ],
        },
      ],
    },
  ];
  if (input.usage.length > 0) {
    // One bucket width for every policy (the longest run sets it), so the curves compare point by point.
    const k = Math.max(1, Math.ceil(Math.max(...input.usage.map((u) => u.series.steps.length)) / MAX_POINTS));
    const pts = input.usage.map((u) => ({ policy: u.policy, p: usagePoints(u.series, k) }));
    const use: XySeries[] = pts.map(({ policy, p }) => ({ label: policy, x: p.t, y: p.use }));
    const h2d: XySeries[] = pts.map(({ policy, p }) => ({ label: policy, x: p.t, y: p.h2dGibS }));
    const items: ReportItem[] = [
      { kind: 'line', id: 'usage-gpu-kv', title: `GPU KV use over time (share of the ${c.engine.budget_gib.toFixed(2)} GiB budget, mean over the steps of each ${k * (input.usage[0]?.series.bucketS ?? 1)} s bucket)`, xLabel: 's (engine time)', yLabel: 'used / budget', series: use },
      { kind: 'line', id: 'usage-h2d', title: 'Host→GPU traffic over time (fetches + reloads)', xLabel: 's (engine time)', yLabel: 'GiB/s', series: h2d },
    ];
    sections.push({ heading: 'Over time, per policy', intro: 'Virtual engine time: each policy ran the same requests on the same seeded engine.', items });
  }
  if (input.ladder) {
    const byPolicy = new Map(rows.map((r) => [r.policy, r]));
    const ladderRows = input.ladder.map((p) => byPolicy.get(p)).filter((r): r is PolicyRow => r !== undefined);
    if (ladderRows.length > 0) {
      sections.push({
        heading: 'Ablation ladder',
        intro: 'The design-validation ladder, rung by rung: a uniform offload distance, + Token-Deposit, + Pause-Resume, per-request ILP placements, + admission control (orbitflow).',
        items: [attainmentBars('ablation-attainment', 'SLO attainment up the ablation ladder', ladderRows)],
      });
    }
  }
  if (c.notes.length > 0) sections.push({ heading: 'Notes', items: [{ kind: 'table', title: 'Notes', head: ['note'], rows: c.notes.map((n) => [n]) }] });
  return {
    schema: REPORT_SCHEMA,
    kind: 'plan-trace',
    title: `orbitflow plan --trace — ${c.trace.file}`,
    header: [
      ['Trace', `${c.trace.file} (${c.trace.format}, ${c.trace.requests} requests, ${c.trace.input_tokens} input / ${c.trace.output_tokens} output tokens)`],
      ['Model', `${c.model}, TP ${c.tp}`],
      ['Profile', c.profile.provenance],
      ['Engine', `GPU KV ${c.engine.budget_blocks} blocks (${c.engine.budget_gib.toFixed(2)} GiB), max-num-seqs ${c.engine.max_num_seqs}, noise CV ${c.engine.noise_cv}, step overhead ${c.engine.step_overhead_ms} ms, seed ${c.engine.seed}`],
      ['SLO', `S = ${c.slo_ms.toFixed(2)} ms/token (${c.slo_source})`],
      ['Solver latency', c.solver_latency],
      ['Command', input.command.join(' ')],
    ],
    sections,
  };
}
