import { percentileSorted } from '../core/stats.js';

/** vLLM's key spelling of a percentile (`str(int(p)) if int(p) == p else str(p)`): 99 → "99", 99.9 → "99.9". */
export function percentileWord(p: number): string {
  return String(p);
}

/** Sorted copy as a Float64Array (numeric sort without a comparator: fast for millions of ITL samples). */
export function sortedCopy(xs: ArrayLike<number>): Float64Array {
  const a = Float64Array.from(xs);
  a.sort();
  return a;
}

export interface Distribution {
  count: number;
  mean: number;
  median: number;
  std: number;
  max: number;
  /** `p<word>` for each asked percentile, e.g. p50, p99. */
  [percentile: `p${string}`]: number;
}

/** The keys of a Distribution over these percentiles. */
export function distributionKeys(percentiles: readonly number[]): string[] {
  return ['count', 'mean', 'median', 'std', 'max', ...percentiles.map((p) => `p${percentileWord(p)}`)];
}

/** vLLM's flat statistic keys of one latency: `mean_<stem>_ms`, `median_…`, `std_…`, `p<word>_…`. */
export function flatStatKeys(stem: string, percentiles: readonly number[]): string[] {
  return [`mean_${stem}_ms`, `median_${stem}_ms`, `std_${stem}_ms`, ...percentiles.map((p) => `p${percentileWord(p)}_${stem}_ms`)];
}

/** A distribution written under vLLM's flat keys (the order of flatStatKeys). */
export function flatStats(stem: string, xs: ArrayLike<number>, percentiles: readonly number[]): Record<string, number> {
  const d = distribution(xs, percentiles);
  const values = [d.mean, d.median, d.std, ...percentiles.map((p) => d[`p${percentileWord(p)}`])];
  const keys = flatStatKeys(stem, percentiles);
  return Object.fromEntries(keys.map((k, i) => [k, values[i]]));
}

/**
 * numpy conventions: population std (ddof 0), linear-interpolation percentiles; an empty list
 * reports 0 everywhere, as vLLM does.
 */
export function distribution(xs: ArrayLike<number>, percentiles: readonly number[]): Distribution {
  const sorted = sortedCopy(xs);
  const n = sorted.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  const mean = n === 0 ? 0 : sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (sorted[i] - mean) * (sorted[i] - mean);
  // percentileSorted only indexes and reads length, so a typed array serves.
  const view = sorted as unknown as readonly number[];
  const d: Distribution = {
    count: n,
    mean,
    median: percentileSorted(view, 50),
    std: n === 0 ? 0 : Math.sqrt(ss / n),
    max: n === 0 ? 0 : sorted[n - 1],
  };
  for (const p of percentiles) d[`p${percentileWord(p)}`] = percentileSorted(view, p);
  return d;
}
