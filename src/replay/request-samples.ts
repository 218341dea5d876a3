import { outputTokens, type RequestRecord } from './request-record.js';
import { sortedCopy } from './summary-stats.js';
import { percentileSorted } from '../core/stats.js';
import { vllmE2elMs, vllmMessageMs, vllmSuccess, vllmTtftMs } from './vllm-view.js';

/** One issued request as vLLM scores it: what the resamplable metrics of `orbitflow compare` are computed from. */
export interface RequestSample {
  ok: boolean;
  ttftMs: number;
  e2elMs: number;
  itlsMs: number[];
  outputTokens: number;
  inputTokens: number;
}

export function samplesFromRecords(records: readonly RequestRecord[]): RequestSample[] {
  const out: RequestSample[] = [];
  for (const r of records) {
    if (r.status === 'pending') continue;
    const ok = vllmSuccess(r);
    const m = vllmMessageMs(r);
    const itls: number[] = [];
    if (ok) for (let k = 1; k < m.length; k++) itls.push(m[k] - m[k - 1]);
    out.push({ ok, ttftMs: vllmTtftMs(r), e2elMs: vllmE2elMs(r), itlsMs: itls, outputTokens: ok ? outputTokens(r) : 0, inputTokens: r.promptTokens });
  }
  return out;
}

/** From a result with vLLM's --save-detailed lists (orbitflow's or vLLM's own); null without them. */
export function samplesFromDetailedLists(result: Record<string, unknown>): RequestSample[] | null {
  const { ttfts, latencies, itls, output_lens: outLens, input_lens: inLens, errors } = result as Record<string, unknown[] | undefined>;
  if (![ttfts, latencies, itls, outLens, inLens, errors].every(Array.isArray)) return null;
  const n = (ttfts as unknown[]).length;
  const out: RequestSample[] = [];
  for (let i = 0; i < n; i++) {
    const ok = (errors as unknown[])[i] === '' || (errors as unknown[])[i] === null;
    out.push({
      ok,
      ttftMs: Number((ttfts as unknown[])[i]) * 1000,
      e2elMs: Number((latencies as unknown[])[i]) * 1000,
      itlsMs: ok ? ((itls as unknown[])[i] as number[]).map((x) => x * 1000) : [],
      outputTokens: Number((outLens as unknown[])[i]),
      inputTokens: Number((inLens as unknown[])[i]),
    });
  }
  return out;
}

/** A metric recomputed from a resample: `pick[k]` indexes `samples`, `durationS` stays the run's. */
export type SampleMetric = (samples: readonly RequestSample[], pick: Int32Array, durationS: number) => number;

const LATENCY_KEY = /^(mean|median|std|p([0-9]+(?:\.[0-9]+)?))_(ttft|tpot|itl|e2el)_ms$/;

function values(samples: readonly RequestSample[], pick: Int32Array, metric: string): Float64Array {
  const xs: number[] = [];
  for (const i of pick) {
    const s = samples[i];
    if (!s.ok) continue;
    if (metric === 'ttft') xs.push(s.ttftMs);
    else if (metric === 'e2el') xs.push(s.e2elMs);
    else if (metric === 'tpot') {
      if (s.outputTokens > 1) xs.push((s.e2elMs - s.ttftMs) / (s.outputTokens - 1));
    } else for (const g of s.itlsMs) xs.push(g);
  }
  return sortedCopy(xs);
}

function aggregate(sorted: Float64Array, stat: string, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  if (stat === 'mean' || stat === 'std') {
    let sum = 0;
    for (const x of sorted) sum += x;
    const mean = sum / n;
    if (stat === 'mean') return mean;
    let ss = 0;
    for (const x of sorted) ss += (x - mean) * (x - mean);
    return Math.sqrt(ss / n);
  }
  return percentileSorted(sorted as unknown as readonly number[], stat === 'median' ? 50 : p);
}

function count(samples: readonly RequestSample[], pick: Int32Array, f: (s: RequestSample) => number): number {
  let t = 0;
  for (const i of pick) t += f(samples[i]);
  return t;
}

const rate = (x: number, d: number): number => (d > 0 ? x / d : 0);

const COUNT_METRICS: Record<string, SampleMetric> = {
  completed: (s, p) => count(s, p, (x) => (x.ok ? 1 : 0)),
  failed: (s, p) => count(s, p, (x) => (x.ok ? 0 : 1)),
  total_input_tokens: (s, p) => count(s, p, (x) => (x.ok ? x.inputTokens : 0)),
  total_output_tokens: (s, p) => count(s, p, (x) => x.outputTokens),
  request_throughput: (s, p, d) => rate(count(s, p, (x) => (x.ok ? 1 : 0)), d),
  output_throughput: (s, p, d) => rate(count(s, p, (x) => x.outputTokens), d),
  total_token_throughput: (s, p, d) => rate(count(s, p, (x) => x.outputTokens + (x.ok ? x.inputTokens : 0)), d),
};

/** The metric of key `key` over a resample, when it can be recomputed from per-request samples; null otherwise. */
export function sampleMetric(key: string): SampleMetric | null {
  const m = LATENCY_KEY.exec(key);
  if (m) {
    const stat = m[2] !== undefined ? 'p' : m[1];
    const p = m[2] !== undefined ? Number(m[2]) : 50;
    const metric = m[3];
    return (samples, pick) => aggregate(values(samples, pick, metric), stat, p);
  }
  return COUNT_METRICS[key] ?? null;
}
