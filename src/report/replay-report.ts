import { computeSlo } from '../replay/metrics-slo.js';
import { pooledTbt } from '../replay/metrics-tbt.js';
import type { ControllerActionRow } from '../controller/run-report.js';
import { latencySamples } from '../replay/metrics-vllm.js';
import type { RequestRecord } from '../replay/request-record.js';
import type { RunResult } from '../replay/run-result.js';
import type { TelemetryReport } from '../replay/telemetry/timeline.js';
import { summarySections } from '../ui/run-summary.js';
import { cdfPoints, round, thin } from './downsample.js';
import { REPORT_SCHEMA, rowsTable, type BarChart, type Report, type ReportItem, type ReportSection, type RuleLine, type XyChart, type XySeries } from './model.js';
import { replayTimeline } from './replay-timeline.js';

/** One replay as the report sees it: its result (orbitflow.run/v1) and its request records. */
export interface ReplayRun {
  label: string;
  result: RunResult;
  records: readonly RequestRecord[];
}

export interface ReplayReportInput {
  primary: ReplayRun;
  /** `--compare` runs, overlaid on the primary's charts. */
  compare: readonly ReplayRun[];
  /** Extra header lines the CLI knows (the engine and its profile's provenance). */
  context: ReadonlyArray<[string, string]>;
  /** The `--compare` table as the terminal prints it. */
  comparisonText?: string;
}

function header(run: ReplayRun, context: ReadonlyArray<[string, string]>): Array<[string, string]> {
  const md = run.result.metadata;
  const rows: Array<[string, string]> = [];
  if (md.trace) rows.push(['Trace', `${md.trace.file} (${md.trace.format}, ${md.trace.requests} requests, sha256 ${md.trace.sha256.slice(0, 12)}…)`]);
  rows.push(['Endpoint', `${md.endpoint ?? 'embedded'} (${md.api}, model ${md.model_name})`]);
  rows.push(...context);
  rows.push(['Command', md.command.join(' ')]);
  rows.push(['Started', `${md.start_time}; orbitflow ${md.orbitflow_version}, Node ${md.node_version}`]);
  const slo = Object.entries(md.slo).map(([k, v]) => `${k.replace(/Ms$/, '')} ${v} ms`);
  rows.push(['SLOs', slo.length > 0 ? slo.join(', ') + (md.deposit ? ' (TBT also with Token-Deposit)' : '') : 'none']);
  if (run.result.interrupted) rows.push(['Interrupted', 'yes: partial results']);
  if (run.result.degraded) rows.push(['Degraded', run.result.degraded_reasons.join('; ')]);
  return rows;
}

function cdfChart(id: string, title: string, runs: readonly ReplayRun[], samples: (r: ReplayRun) => number[], sloMs: number | undefined, sloName: string): XyChart {
  const series: XySeries[] = [];
  for (const run of runs) {
    const s = samples(run);
    if (s.length === 0) continue;
    const p = cdfPoints(s);
    series.push({ label: run.label, x: p.x, y: p.y });
  }
  const rules: RuleLine[] = sloMs === undefined ? [] : [{ axis: 'x', value: sloMs, label: `${sloName} SLO ${sloMs} ms` }];
  return { kind: 'cdf', id, title, xLabel: 'ms', yLabel: 'fraction ≤ x', series, rules, note: series.length === 0 ? 'no samples' : undefined };
}

function latencySection(runs: readonly ReplayRun[]): ReportSection {
  const slo = runs[0].result.metadata.slo;
  const lat = new Map(runs.map((r) => [r, latencySamples(r.records.filter((x) => x.status !== 'pending'))]));
  return {
    heading: 'Latency distributions',
    intro: 'Empirical CDFs over the successful requests (vLLM\'s definitions); every point is an exact order statistic, the tables above give the exact percentiles.',
    items: [
      cdfChart('cdf-ttft', 'TTFT (time to first token)', runs, (r) => lat.get(r)!.ttft, slo.ttftMs, 'TTFT'),
      cdfChart('cdf-tpot', 'TPOT (time per output token, excl. the first)', runs, (r) => lat.get(r)!.tpot, slo.tpotMs, 'TPOT'),
      cdfChart('cdf-itl', 'ITL (gap between SSE messages)', runs, (r) => lat.get(r)!.itl, slo.tbtMs, 'TBT'),
      cdfChart('cdf-tbt', 'TBT (token-normalised time between tokens)', runs, (r) => pooledTbt(r.records.filter((x) => x.status !== 'pending')).samplesMs, slo.tbtMs, 'TBT'),
      cdfChart('cdf-e2el', 'E2EL (end-to-end latency)', runs, (r) => lat.get(r)!.e2el, slo.e2elMs, 'E2EL'),
    ].filter((c) => c.series.length > 0),
  };
}

function loadSection(runs: readonly ReplayRun[], maxScheduleLagMs: number | undefined): ReportSection {
  const timelines = runs.map((r) => ({ run: r, tl: replayTimeline(r.records) }));
  const primary = timelines[0].tl;
  const per = (f: (tl: ReturnType<typeof replayTimeline>) => Array<number | null>): XySeries[] => timelines.map(({ run, tl }) => ({ label: run.label, x: tl.t, y: f(tl) }));
  const items: ReportItem[] = [
    { kind: 'line', id: 'throughput', title: `Output throughput (tokens per second, ${primary.widthS} s buckets)`, xLabel: 's', yLabel: 'tok/s', series: per((tl) => tl.outputTokS) },
    {
      kind: 'step',
      id: 'requests',
      title: `Requests due, sent and finished (cumulative${runs.length > 1 ? `, ${runs[0].label}` : ''})`,
      xLabel: 's',
      yLabel: 'requests',
      series: [
        { label: 'due (trace schedule)', x: primary.t, y: primary.due },
        { label: 'sent', x: primary.t, y: primary.sent },
        { label: 'finished', x: primary.t, y: primary.finished },
        { label: 'failed', x: primary.t, y: primary.failed },
      ],
    },
    { kind: 'step', id: 'concurrency', title: 'Requests in flight (most at any moment of a bucket)', xLabel: 's', yLabel: 'requests', series: per((tl) => tl.inFlightMax) },
    {
      kind: 'line',
      id: 'schedule-lag',
      title: `Schedule lag: how late the client released each request (${runs[0].label})`,
      xLabel: 's (due time)',
      yLabel: 'ms',
      series: [
        { label: 'max in bucket', x: primary.t, y: primary.lagMaxMs },
        { label: 'mean in bucket', x: primary.t, y: primary.lagMeanMs },
      ],
      rules: maxScheduleLagMs === undefined ? [] : [{ axis: 'y', value: maxScheduleLagMs, label: `--max-schedule-lag-ms ${maxScheduleLagMs} (p99 gate)` }],
      note: 'The proof that the load was delivered as planned: near zero throughout means every request left on its trace time.',
    },
  ];
  return { heading: 'Load over time', items };
}

function sloSection(runs: readonly ReplayRun[]): ReportSection | null {
  const first = runs[0].result.slo_attainment;
  if (first === null) return null;
  const cats: Array<{ label: string; get: (r: RunResult) => number | null | undefined }> = [];
  for (const m of ['ttft', 'tpot', 'tbt', 'e2el'] as const) if (first[m] !== null) cats.push({ label: `${m.toUpperCase()} (requests)`, get: (r) => r.slo_attainment?.[m] });
  cats.push({ label: 'all SLOs (requests)', get: (r) => r.slo_attainment?.all });
  if (first.tbt_tokens) {
    cats.push({ label: 'TBT (tokens, no TD)', get: (r) => r.slo_attainment?.tbt_tokens?.attainment_no_td });
    if (first.tbt_tokens.attainment_td !== null) cats.push({ label: 'TBT (tokens, Token-Deposit)', get: (r) => r.slo_attainment?.tbt_tokens?.attainment_td });
  }
  const byMetric: BarChart = {
    kind: 'bar',
    id: 'slo-attainment',
    title: 'SLO attainment by SLO class (share of issued requests; TBT also per token)',
    yLabel: 'attainment',
    fraction: true,
    categories: cats.map((c) => c.label),
    series: runs.map((run) => ({ label: run.label, values: cats.map((c) => c.get(run.result) ?? null) })),
  };
  const items: ReportItem[] = [byMetric];
  const byClass = classChart(runs[0]);
  if (byClass) items.push(byClass);
  return { heading: 'SLO attainment', items };
}

/** Attainment per request class of the trace (e.g. the artifact's categories), scored as the run was. */
function classChart(run: ReplayRun): BarChart | null {
  const md = run.result.metadata;
  const issued = run.records.filter((r) => r.status !== 'pending');
  const classes = [...new Set(issued.map((r) => r.class ?? 'no class'))].sort();
  if (classes.length < 2 && !issued.some((r) => r.class !== undefined)) return null;
  const per = classes.map((c) => computeSlo(issued.filter((r) => (r.class ?? 'no class') === c), md.slo, md.deposit, run.result.duration).attainment);
  const metrics = (['ttft', 'tpot', 'tbt', 'e2el'] as const).filter((m) => per.some((a) => a !== null && a[m] !== null));
  if (metrics.length === 0) return null;
  return {
    kind: 'bar',
    id: 'slo-attainment-by-class',
    title: `SLO attainment by request class (${run.label}; share of the class's issued requests)`,
    yLabel: 'attainment',
    fraction: true,
    categories: classes.map((c, i) => `${c} (${per[i]?.issued ?? 0})`),
    series: metrics.map((m) => ({ label: m.toUpperCase(), values: per.map((a) => a?.[m] ?? null) })),
  };
}

function controllerSection(run: ReplayRun): ReportSection | null {
  const c = run.result.controller;
  if (!c?.enabled || c.actions.length === 0) return null;
  const actions = c.actions;
  const triggers = [...new Set(actions.map((a) => a.trigger))].sort();
  const cum = (pick: (a: ControllerActionRow) => number): { x: number[]; y: number[] } => {
    const pts: Array<[number, number]> = [];
    let s = 0;
    for (const a of actions) {
      const d = pick(a);
      if (d === 0) continue;
      s += d;
      pts.push([round(a.solved_at_s), s]);
    }
    const kept = thin(pts);
    return { x: kept.map((p) => p[0]), y: kept.map((p) => p[1]) };
  };
  const plans: XySeries[] = [{ label: 'plans applied', ...cum((a) => (a.applied_at_step !== null ? 1 : 0)) }];
  for (const t of triggers) plans.push({ label: `trigger: ${t}`, ...cum((a) => (a.trigger === t ? 1 : 0)) });
  const pauses: XySeries[] = [
    { label: 'pauses', ...cum((a) => a.paused.length) },
    { label: 'resumes', ...cum((a) => a.resumed.length) },
  ].filter((s) => s.x.length > 0);
  const measured = thin(actions.filter((a) => a.measured_step_ms !== null));
  const steps: XySeries[] = [
    { label: 'predicted step ms', x: thin(actions).map((a) => round(a.solved_at_s)), y: thin(actions).map((a) => round(a.predicted_step_ms)) },
    { label: 'measured step ms (mean while the plan was active)', x: measured.map((a) => round(a.solved_at_s)), y: measured.map((a) => round(a.measured_step_ms!)) },
  ].filter((s) => s.x.length > 0);
  const items: ReportItem[] = [
    { kind: 'step', id: 'controller-plans', title: 'Controller: plans and re-plan triggers (cumulative)', xLabel: 's (since the controller started)', yLabel: 'count', series: plans },
  ];
  if (pauses.length > 0) items.push({ kind: 'step', id: 'controller-pauses', title: 'Controller: Pause-Resume (cumulative requests)', xLabel: 's', yLabel: 'requests', series: pauses });
  items.push({ kind: 'line', id: 'controller-step-time', title: 'Controller: predicted vs measured decode step time, per plan', xLabel: 's', yLabel: 'ms', series: steps, points: true });
  return { heading: 'Feedback controller', items };
}

function telemetrySection(run: ReplayRun): ReportSection | null {
  const t = run.result.telemetry as TelemetryReport | { enabled: false } | undefined;
  if (!t || !t.enabled || t.timeline.length === 0) return null;
  const tl = thin(t.timeline);
  const x = tl.map((p) => p.t_s);
  const line = (label: string, pick: (p: (typeof tl)[number]) => number | undefined): XySeries | null => {
    const y = tl.map((p) => (typeof pick(p) === 'number' ? round(pick(p)!) : null));
    return y.some((v) => v !== null) ? { label, x, y } : null;
  };
  const items: ReportItem[] = [];
  const queue = [line('running', (p) => p.running), line('waiting', (p) => p.waiting)].filter((s): s is XySeries => s !== null);
  if (queue.length > 0) items.push({ kind: 'step', id: 'telemetry-queue', title: `Engine telemetry: running and waiting requests (${t.url})`, xLabel: 's', yLabel: 'requests', series: queue });
  const kv = line('KV-cache usage', (p) => p.kv_usage);
  if (kv) items.push({ kind: 'line', id: 'telemetry-kv', title: 'Engine telemetry: GPU KV-cache usage', xLabel: 's', yLabel: 'fraction', series: [kv] });
  const pre = line('preemptions (counter)', (p) => p.preemptions_total);
  if (pre) items.push({ kind: 'step', id: 'telemetry-preemptions', title: 'Engine telemetry: preemptions (cumulative counter)', xLabel: 's', yLabel: 'count', series: [pre] });
  return items.length > 0 ? { heading: 'Engine telemetry', items } : null;
}

/** The replay report: header, the terminal summary's tables, then the charts. */
export function buildReplayReport(input: ReplayReportInput, opts: { maxScheduleLagMs?: number } = {}): Report {
  const runs = [input.primary, ...input.compare];
  const sections: ReportSection[] = [
    {
      heading: 'Summary',
      intro: 'The numbers the terminal summary prints (exact, over every sample).',
      items: [
        ...(input.comparisonText ? [{ kind: 'text' as const, title: '--compare (as the terminal prints it)', text: input.comparisonText.trim() }] : []),
        ...summarySections(input.primary.result).map((s) => rowsTable(s.title, s.rows)),
      ],
    },
    latencySection(runs),
    loadSection(runs, opts.maxScheduleLagMs),
  ];
  for (const s of [sloSection(runs), controllerSection(input.primary), telemetrySection(input.primary)]) if (s) sections.push(s);
  return {
    schema: REPORT_SCHEMA,
    kind: 'replay',
    title: `orbitflow replay — ${input.primary.result.metadata.trace?.file ?? 'run'}`,
    header: header(input.primary, input.context),
    sections,
  };
}
