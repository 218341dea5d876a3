import { flatStats } from './summary-stats.js';
import { isSuccess, outputTokens, ttftMs, type RequestRecord } from './request-record.js';
import { vllmE2elMs, vllmMessageMs, vllmSuccess, vllmTpotMs, vllmTtftMs } from './vllm-view.js';

/** `--goodput ttft:X tpot:Y e2el:Z` (ms, inclusive bounds); any subset. */
export interface GoodputSpec {
  ttftMs?: number;
  tpotMs?: number;
  e2elMs?: number;
}

export const LATENCY_METRICS = ['ttft', 'tpot', 'itl', 'e2el'] as const;
export type LatencyMetric = (typeof LATENCY_METRICS)[number];

/**
 * The metrics of vLLM's `calculate_metrics` (vllm/benchmarks/serve.py), with its key names and
 * meaning; see docs peers-and-metrics §4. Success, TTFT, ITL and E2EL are vLLM's (vllm-view.ts).
 * Failures are excluded from every latency statistic and every token total. Key order follows
 * vLLM's result JSON.
 */
export type VllmMetrics = Record<string, number | null>;

/** The latency samples of vLLM's statistics, ms, as vLLM scores requests (vllm-view.ts): its successes only; TPOT of those with more than one token; ITL every gap between messages with choices. */
export function latencySamples(records: readonly RequestRecord[]): Record<LatencyMetric, number[]> {
  const out: Record<LatencyMetric, number[]> = { ttft: [], tpot: [], itl: [], e2el: [] };
  for (const r of records) {
    if (!vllmSuccess(r)) continue;
    out.ttft.push(vllmTtftMs(r));
    out.e2el.push(vllmE2elMs(r));
    if (hasTpot(r)) out.tpot.push(vllmTpotMs(r));
    const c = vllmMessageMs(r);
    for (let k = 1; k < c.length; k++) out.itl.push(c[k] - c[k - 1]);
  }
  return out;
}

export function computeVllmMetrics(records: readonly RequestRecord[], durationS: number, percentiles: readonly number[], goodput?: GoodputSpec): VllmMetrics {
  let completed = 0;
  let failed = 0;
  let totalInput = 0;
  let totalOutput = 0;
  let good = 0;
  for (const r of records) {
    if (!vllmSuccess(r)) {
      failed++;
      continue;
    }
    completed++;
    totalOutput += outputTokens(r);
    totalInput += r.promptTokens;
    if (goodput !== undefined) {
      // n ≤ 1 counts as TPOT 0 for goodput (vLLM).
      const ok =
        (goodput.ttftMs === undefined || vllmTtftMs(r) <= goodput.ttftMs) &&
        (goodput.tpotMs === undefined || vllmTpotMs(r) <= goodput.tpotMs) &&
        (goodput.e2elMs === undefined || vllmE2elMs(r) <= goodput.e2elMs);
      if (ok) good++;
    }
  }
  const d = durationS > 0 ? durationS : Number.NaN;
  const rate = (x: number): number => (Number.isFinite(d) ? x / d : 0);
  const out: VllmMetrics = {
    duration: durationS,
    completed,
    failed,
    total_input_tokens: totalInput,
    total_output_tokens: totalOutput,
    request_throughput: rate(completed),
    request_goodput: goodput === undefined ? null : rate(good),
    output_throughput: rate(totalOutput),
    total_token_throughput: rate(totalInput + totalOutput),
  };
  const series = latencySamples(records);
  for (const m of LATENCY_METRICS) Object.assign(out, flatStats(m, series[m], percentiles));
  out.max_output_tokens_per_s = maxOutputTokensPerS(records);
  out.max_concurrent_requests = maxConcurrentRequests(records);
  return out;
}

/** A request has a TPOT sample when it produced more than one token (vLLM). */
function hasTpot(r: RequestRecord): boolean {
  return outputTokens(r) > 1;
}

/** How many samples each latency statistic of computeVllmMetrics is over (0: its value, 0, measures nothing). */
export function latencySampleCounts(records: readonly RequestRecord[]): Record<LatencyMetric, number> {
  const n = { ttft: 0, tpot: 0, itl: 0, e2el: 0 };
  for (const r of records) {
    if (!vllmSuccess(r)) continue;
    n.ttft++;
    n.e2el++;
    if (hasTpot(r)) n.tpot++;
    n.itl += Math.max(0, vllmMessageMs(r).length - 1);
  }
  return n;
}

/** orbitflow's TTFT (chat: the first message with content, not the role-only delta) over orbitflow's successes: the `*_ttft_content_ms` keys. */
export function contentTtftsMs(records: readonly RequestRecord[]): number[] {
  const out: number[] = [];
  for (const r of records) if (isSuccess(r)) out.push(ttftMs(r));
  return out;
}

/**
 * vLLM's peak: message times rebuilt as start + TTFT + cumulative ITL (one per message, so
 * bundled tokens are under-counted, as in vLLM), binned in whole seconds from the earliest start
 * of a successful request; the fullest bin.
 */
export function maxOutputTokensPerS(records: readonly RequestRecord[]): number {
  let minStart = Infinity;
  let maxEnd = -Infinity;
  for (const r of records) {
    if (!vllmSuccess(r)) continue;
    minStart = Math.min(minStart, r.sentMs);
    maxEnd = Math.max(maxEnd, r.sentMs + vllmE2elMs(r));
  }
  if (minStart === Infinity) return 0;
  const bins = new Float64Array(Math.ceil((maxEnd - minStart) / 1000) + 1);
  for (const r of records) {
    if (!vllmSuccess(r)) continue;
    for (const c of vllmMessageMs(r)) {
      const b = Math.floor((r.sentMs + c - minStart) / 1000);
      if (b >= 0 && b < bins.length) bins[b]++;
    }
  }
  let peak = 0;
  for (const v of bins) if (v > peak) peak = v;
  return peak;
}

/** Exact peak of successful requests over half-open [start, start + E2EL): an end sorts before a start at the same time. */
export function maxConcurrentRequests(records: readonly RequestRecord[]): number {
  const events: Array<[number, number]> = [];
  for (const r of records) {
    if (!vllmSuccess(r)) continue;
    events.push([r.sentMs, 1], [r.sentMs + vllmE2elMs(r), -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let peak = 0;
  for (const [, delta] of events) {
    cur += delta;
    if (cur > peak) peak = cur;
  }
  return peak;
}
