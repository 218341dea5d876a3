import { outputTokens, type RequestRecord } from './request-record.js';
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

/**
 * A metric recomputed from a resample given as weights: `weights[i]` is how many times sample i
 * was drawn (a bootstrap resample with replacement; all ones is the run itself).
 */
export type WeightedMetric = (weights: Int32Array) => number;

const LATENCY_KEY = /^(mean|median|std|p([0-9]+(?:\.[0-9]+)?))_(ttft|tpot|itl|e2el)_ms$/;

/** Every value of one latency metric with the sample it came from, sorted by value once, so a resample needs no sort. */
function sortedValues(samples: readonly RequestSample[], metric: string): { values: Float64Array; owner: Int32Array } {
  const vals: number[] = [];
  const own: number[] = [];
  samples.forEach((s, i) => {
    if (!s.ok) return;
    if (metric === 'ttft') {
      vals.push(s.ttftMs);
      own.push(i);
    } else if (metric === 'e2el') {
      vals.push(s.e2elMs);
      own.push(i);
    } else if (metric === 'tpot') {
      if (s.outputTokens > 1) {
        vals.push((s.e2elMs - s.ttftMs) / (s.outputTokens - 1));
        own.push(i);
      }
    } else
      for (const g of s.itlsMs) {
        vals.push(g);
        own.push(i);
      }
  });
  const order = Array.from(vals.keys()).sort((a, b) => vals[a] - vals[b]);
  return { values: Float64Array.from(order, (k) => vals[k]), owner: Int32Array.from(order, (k) => own[k]) };
}

/**
 * numpy's statistics of the multiset where values[j] appears weights[owner[j]] times: the same
 * numbers as sorting the resampled values, in one pass over the sorted ones.
 */
function weightedStat(values: Float64Array, owner: Int32Array, weights: Int32Array, stat: string, p: number): number {
  let n = 0;
  let sum = 0;
  for (let j = 0; j < values.length; j++) {
    const w = weights[owner[j]];
    n += w;
    sum += w * values[j];
  }
  if (n === 0) return 0;
  const mean = sum / n;
  if (stat === 'mean') return mean;
  if (stat === 'std') {
    let ss = 0;
    for (let j = 0; j < values.length; j++) ss += weights[owner[j]] * (values[j] - mean) ** 2;
    return Math.sqrt(ss / n);
  }
  const rank = ((stat === 'median' ? 50 : p) / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  let seen = 0;
  let vlo = Number.NaN;
  for (let j = 0; j < values.length; j++) {
    seen += weights[owner[j]];
    if (Number.isNaN(vlo) && seen > lo) vlo = values[j];
    if (seen > hi) return vlo + (values[j] - vlo) * (rank - lo);
  }
  return vlo;
}

function weighted(samples: readonly RequestSample[], f: (s: RequestSample) => number): (w: Int32Array) => number {
  const v = Float64Array.from(samples, f);
  return (w) => {
    let t = 0;
    for (let i = 0; i < v.length; i++) t += w[i] * v[i];
    return t;
  };
}

const rate = (x: number, d: number): number => (d > 0 ? x / d : 0);

const COUNT_METRICS: Record<string, (samples: readonly RequestSample[], durationS: number) => WeightedMetric> = {
  completed: (s) => weighted(s, (x) => (x.ok ? 1 : 0)),
  failed: (s) => weighted(s, (x) => (x.ok ? 0 : 1)),
  total_input_tokens: (s) => weighted(s, (x) => (x.ok ? x.inputTokens : 0)),
  total_output_tokens: (s) => weighted(s, (x) => x.outputTokens),
  request_throughput: (s, d) => {
    const f = weighted(s, (x) => (x.ok ? 1 : 0));
    return (w) => rate(f(w), d);
  },
  output_throughput: (s, d) => {
    const f = weighted(s, (x) => x.outputTokens);
    return (w) => rate(f(w), d);
  },
  total_token_throughput: (s, d) => {
    const f = weighted(s, (x) => x.outputTokens + (x.ok ? x.inputTokens : 0));
    return (w) => rate(f(w), d);
  },
};

/** The metric of key `key` over resamples of `samples`, when per-request samples can recompute it; null otherwise. */
export function sampleMetric(key: string, samples: readonly RequestSample[], durationS: number): WeightedMetric | null {
  const m = LATENCY_KEY.exec(key);
  if (m) {
    const stat = m[2] !== undefined ? 'p' : m[1];
    const p = m[2] !== undefined ? Number(m[2]) : 50;
    const { values, owner } = sortedValues(samples, m[3]);
    return (w) => weightedStat(values, owner, w, stat, p);
  }
  const make = COUNT_METRICS[key];
  return make === undefined ? null : make(samples, durationS);
}
