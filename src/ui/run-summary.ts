import { controllerRows } from './controller-rows.js';
import { telemetryRows } from './telemetry-rows.js';
import type { Telemetry } from '../replay/telemetry/timeline.js';
import type { RunResult } from '../replay/run-result.js';
import type { Distribution } from '../replay/summary-stats.js';

/** The summary of a run as sections of (label, value) rows: one source for the text and markdown renderers. */
export interface SummarySection {
  title: string;
  rows: Array<[string, string]>;
}

function f2(x: unknown): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(2) : 'n/a';
}

function pct(x: number | null | undefined): string {
  return typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : 'n/a';
}

function distRows(name: string, d: Distribution, percentiles: readonly number[]): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    [`Mean ${name} (ms)`, f2(d.mean)],
    [`Median ${name} (ms)`, f2(d.median)],
  ];
  for (const p of percentiles) if (p !== 50) rows.push([`P${p} ${name} (ms)`, f2(d[`p${p}`])]);
  return rows;
}

export function summarySections(r: RunResult): SummarySection[] {
  const percentiles = r.metadata.percentiles;
  const sections: SummarySection[] = [];
  const md = r.metadata;
  const head: Array<[string, string]> = [];
  if (md.trace) head.push(['Trace', `${md.trace.file} (${md.trace.format}, ${md.trace.requests} requests)`]);
  head.push(['Endpoint', `${md.endpoint ?? 'embedded'} (${md.api}, model ${md.model_name})`]);
  const merged = md.merged as { shards: number; start_spread_ms: number } | undefined;
  const shard = md.shard as { index: number; count: number } | null | undefined;
  const workers = md.workers as { count: number; start_spread_ms?: number } | undefined;
  if (merged) head.push(['Merged shards', `${merged.shards} (started ${f2(merged.start_spread_ms)} ms apart by their own clocks)`]);
  if (shard) head.push(['Shard', `${shard.index}/${shard.count} (every ${shard.count}th request; merge the shards with orbitflow merge)`]);
  if (workers && workers.count > 1) head.push(['Workers', `${workers.count} threads (started ${f2(workers.start_spread_ms ?? 0)} ms apart)`]);
  if (r.interrupted) head.push(['Interrupted', 'yes: partial results']);
  head.push(
    ['Issued requests', String(r.issued)],
    ['Successful requests', String(r.completed)],
    ['Failed requests', String(r.failed)],
  );
  // vLLM's verdict heads the table; orbitflow's stricter one only when they part.
  if (r.orbitflow_completed !== undefined && r.orbitflow_completed !== r.completed) {
    head.push(['Successful, orbitflow verdict', `${r.orbitflow_completed} (stricter: error events, short or cut streams, bad usage fail)`]);
  }
  const fallback = r.output_tokens_counted_by?.token_messages ?? 0;
  if (fallback > 0) head.push(['Output tokens counted by messages', `${fallback} requests (no usage from the server)`]);
  head.push(
    ['Benchmark duration (s)', f2(r.duration)],
    ['Total input tokens', String(r.total_input_tokens)],
    ['Total generated tokens', String(r.total_output_tokens)],
    ['Request throughput (req/s)', f2(r.request_throughput)],
  );
  if (r.request_goodput !== null) head.push(['Request goodput (req/s)', f2(r.request_goodput)]);
  head.push(
    ['Output token throughput (tok/s)', f2(r.output_throughput)],
    ['Peak output token throughput (tok/s)', f2(r.max_output_tokens_per_s)],
    ['Peak concurrent requests', String(r.max_concurrent_requests)],
    ['Total token throughput (tok/s)', f2(r.total_token_throughput)],
  );
  sections.push({ title: 'orbitflow replay', rows: head });

  const vllmDist = (m: string): Distribution => {
    const d: Distribution = { count: 0, mean: r[`mean_${m}_ms`] as number, median: r[`median_${m}_ms`] as number, std: r[`std_${m}_ms`] as number, max: 0 };
    for (const p of percentiles) d[`p${p}`] = r[`p${p}_${m}_ms`] as number;
    return d;
  };
  const ttftRows = distRows('TTFT', vllmDist('ttft'), percentiles);
  if (md.api === 'chat') ttftRows.push(...distRows('TTFT to content', vllmDist('ttft_content'), percentiles));
  sections.push({ title: 'Time to First Token', rows: ttftRows });
  sections.push({ title: 'Time per Output Token (excl. 1st token)', rows: distRows('TPOT', vllmDist('tpot'), percentiles) });
  sections.push({ title: 'Inter-token Latency (per SSE message)', rows: distRows('ITL', vllmDist('itl'), percentiles) });
  sections.push({ title: 'End-to-end Latency', rows: distRows('E2EL', vllmDist('e2el'), percentiles) });
  sections.push({
    title: 'Time between Tokens (token-normalised)',
    rows: [
      ['Source', r.tbt_source === 'usage' ? 'per-message usage' : r.tbt_source === 'chunk' ? 'chunk gaps (no per-message usage)' : 'mixed'],
      ['Tokens per SSE message', f2(r.chunk_token_ratio)],
      ...distRows('TBT', r.tbt_ms, percentiles),
    ],
  });

  const slo = r.slo_attainment;
  if (slo !== null) {
    const rows: Array<[string, string]> = [['Denominator', `${slo.denominator} (${slo.issued})`]];
    for (const m of ['ttft', 'tpot', 'tbt', 'e2el'] as const) {
      if (slo[m] === null) continue;
      const bound = slo.slo_ms[m];
      rows.push([`${m.toUpperCase()}${bound === null ? ' (per-request SLO)' : ` <= ${bound} ms`}`, pct(slo[m])]);
    }
    rows.push(['All SLOs', pct(slo.all)]);
    rows.push(['Token goodput (tok/s)', f2(r.token_goodput)]);
    const t = slo.tbt_tokens;
    if (t !== null) {
      rows.push(['TBT tokens on time, no TD', `${pct(t.attainment_no_td)} (${t.violations_no_td} late of ${t.expected_tokens})`]);
      if (t.attainment_td !== null) rows.push(['TBT tokens on time, Token-Deposit', `${pct(t.attainment_td)} (${t.violations_td} late of ${t.expected_tokens})`]);
    }
    sections.push({ title: 'SLO attainment', rows });
  }

  const health: Array<[string, string]> = [
    ['Schedule lag p50 / p99 / max (ms)', `${f2(r.schedule_lag_ms.p50)} / ${f2(r.schedule_lag_ms.p99)} / ${f2(r.schedule_lag_ms.max)}`],
  ];
  if (md.max_concurrency !== null) {
    health.push(['Client queue time p50 / max (ms)', `${f2(r.client_queue_time_ms.median)} / ${f2(r.client_queue_time_ms.max)}`]);
  }
  const causes = Object.entries(r.error_summary.by_cause)
    .filter(([, n]) => n > 0)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  health.push(['Errors', r.error_summary.total === 0 ? '0' : `${r.error_summary.total} (${pct(r.error_summary.rate)}): ${causes}`]);
  for (const e of r.error_summary.examples.slice(0, 3)) health.push([`  request ${e.index}`, `${e.cause}${e.detail ? `: ${e.detail}` : ''}`]);
  health.push(['Degraded', r.degraded ? `yes: ${r.degraded_reasons.join('; ')}` : 'no']);
  sections.push({ title: 'Client health', rows: health });

  if (r.assertions.length > 0) {
    sections.push({
      title: 'Assertions',
      rows: r.assertions.map((a) => [`${a.passed ? 'PASS' : 'FAIL'} ${a.expr}`, `actual ${a.actual === null ? 'n/a' : +a.actual.toPrecision(6)}`]),
    });
  }
  if (r.controller !== null && r.controller !== undefined) {
    sections.push({ title: 'Controller', rows: controllerRows(r.controller) });
  }
  const telemetry = telemetryRows(r.telemetry as Telemetry | undefined);
  if (telemetry) sections.push({ title: 'Engine telemetry', rows: telemetry });
  return sections;
}

const WIDTH = 50;

/** vLLM-style plain text: `====== title ======` then `label: value` rows. */
export function formatRunSummary(r: RunResult): string {
  const lines: string[] = [];
  summarySections(r).forEach((s, i) => {
    const title = ` ${s.title} `;
    const fill = i === 0 ? '=' : '-';
    const left = Math.max(0, Math.floor((WIDTH - title.length) / 2));
    lines.push(`${fill.repeat(left)}${title}${fill.repeat(Math.max(0, WIDTH - left - title.length))}`);
    for (const [label, value] of s.rows) lines.push(`${`${label}:`.padEnd(40)} ${value}`);
  });
  lines.push('='.repeat(WIDTH));
  return `${lines.join('\n')}\n`;
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function runSummaryMarkdown(r: RunResult): string {
  const out: string[] = [`# orbitflow replay: ${r.metadata.start_time}`, ''];
  for (const s of summarySections(r)) {
    out.push(`## ${s.title}`, '', '| | |', '|---|---|');
    for (const [label, value] of s.rows) out.push(`| ${mdCell(label.trim())} | ${mdCell(value)} |`);
    out.push('');
  }
  out.push('Metric definitions: TTFT/TPOT/ITL/E2EL and request goodput are vLLM `bench serve`\'s; ITL is per SSE message;');
  out.push('TBT splits a message of m tokens into m gaps when the server sends per-message usage. SLO attainment counts');
  out.push('failed requests as misses (denominator: issued requests).', '');
  return out.join('\n');
}
