/**
 * Keeping report files small: timelines are bucketed or thinned to a few hundred points; a CDF
 * keeps exact order statistics at evenly spaced ranks (always the first and the last), so every
 * point drawn is a true quantile of all the samples. Percentile tables use all samples.
 */

/** At most this many points per timeline or CDF series. */
export const MAX_POINTS = 600;

/** Rounds to `digits` significant digits: JSON of many floats shrinks by half. */
export function round(x: number, digits = 4): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const p = Math.pow(10, digits - 1 - Math.floor(Math.log10(Math.abs(x))));
  return Math.round(x * p) / p;
}

/** The empirical CDF of `samples` as (value, fraction ≤ value) at up to `maxPoints` ranks. */
export function cdfPoints(samples: ArrayLike<number>, maxPoints = MAX_POINTS): { x: number[]; y: number[] } {
  const sorted = Float64Array.from(samples).filter((v) => Number.isFinite(v)).sort();
  const n = sorted.length;
  const x: number[] = [];
  const y: number[] = [];
  if (n === 0) return { x, y };
  const m = Math.min(n, Math.max(2, maxPoints));
  for (let k = 0; k < m; k++) {
    const i = m === 1 ? n - 1 : Math.round((k * (n - 1)) / (m - 1));
    const v = round(sorted[i]);
    // Ties: one point per value, at the highest rank (the CDF's value there).
    if (x.length > 0 && x[x.length - 1] === v) y[y.length - 1] = round((i + 1) / n);
    else {
      x.push(v);
      y.push(round((i + 1) / n));
    }
  }
  return { x, y };
}

/** Bucket width (s) so that `spanS` seconds make at most `maxPoints` buckets: 1 s, or wider for long runs. */
export function bucketWidthS(spanS: number, maxPoints = MAX_POINTS): number {
  return Math.max(1, Math.ceil(spanS / maxPoints));
}

/** Every `k`-th element so that at most `maxPoints` remain (the last one always kept). */
export function thin<T>(xs: readonly T[], maxPoints = MAX_POINTS): T[] {
  if (xs.length <= maxPoints) return [...xs];
  const stride = Math.ceil(xs.length / maxPoints);
  const out: T[] = [];
  for (let i = 0; i < xs.length; i += stride) out.push(xs[i]);
  if (out[out.length - 1] !== xs[xs.length - 1]) out.push(xs[xs.length - 1]);
  return out;
}

/** Bucket start times 0, w, 2w, … covering [0, spanS]. */
export function bucketStarts(spanS: number, widthS: number): number[] {
  const n = Math.max(1, Math.ceil(spanS / widthS));
  return Array.from({ length: n }, (_, i) => i * widthS);
}
