import { solveLinear } from '../../core/linear-solve.js';

/**
 * Robust linear regression with non-negative coefficients: Huber's M-estimator by iteratively
 * re-weighted least squares (k = 1.345 robust standard deviations, the scale re-estimated each
 * round as 1.4826 · MAD of the residuals), each round an exact non-negative weighted least squares
 * by enumerating supports (a handful of columns). A gap inflated by something the model does not
 * see (a stalled client, a recompute after preemption) then weighs at most as much as a residual
 * of k standard deviations, where plain least squares would let it pull the line. Pure.
 */
export interface RobustFit {
  coef: number[];
  /** Columns held at 0 by the non-negativity constraint. */
  clamped: number[];
  /** measured − fitted, per row. */
  residuals: Float64Array;
  fitted: Float64Array;
  /** Plain R² of the final coefficients over every row. */
  r2: number;
  /** Robust scale of the residuals (1.4826 · MAD). */
  scale: number;
  iterations: number;
}

export const HUBER_K = 1.345;

/** Exact NNLS of weighted least squares on scaled columns, over all 2^p supports. */
function weightedNnls(x: Float64Array[], y: Float64Array, w: Float64Array): { coef: number[]; support: number[] } {
  const p = x.length;
  const n = y.length;
  const gram: number[][] = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const xty = new Array<number>(p).fill(0);
  for (let i = 0; i < n; i++) {
    const wi = w[i];
    if (wi === 0) continue;
    for (let a = 0; a < p; a++) {
      const xa = x[a][i] * wi;
      xty[a] += xa * y[i];
      for (let b = a; b < p; b++) gram[a][b] += xa * x[b][i];
    }
  }
  for (let a = 0; a < p; a++) for (let b = 0; b < a; b++) gram[a][b] = gram[b][a];
  let yty = 0;
  for (let i = 0; i < n; i++) yty += w[i] * y[i] * y[i];
  let best: { coef: number[]; sse: number; support: number[] } | null = null;
  for (let mask = (1 << p) - 1; mask >= 0; mask--) {
    const cols = Array.from({ length: p }, (_, j) => j).filter((j) => mask & (1 << j));
    const coef = new Array<number>(p).fill(0);
    if (cols.length > 0) {
      const sol = solveLinear(cols.map((i) => cols.map((j) => gram[i][j])), cols.map((i) => xty[i]));
      if (!sol || sol.some((v) => v < 0)) continue;
      cols.forEach((j, k) => (coef[j] = sol[k]));
    }
    // SSE = yᵀWy − 2 cᵀXᵀWy + cᵀ(XᵀWX)c
    let sse = yty;
    for (let a = 0; a < p; a++) {
      sse -= 2 * coef[a] * xty[a];
      for (let b = 0; b < p; b++) sse += coef[a] * gram[a][b] * coef[b];
    }
    if (!best || sse < best.sse * (1 - 1e-12) - 1e-15) best = { coef, sse, support: cols };
  }
  return { coef: best!.coef, support: best!.support };
}

function mad(r: Float64Array): number {
  const s = Float64Array.from(r).sort();
  const m = s.length >>> 1;
  const med = s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  const dev = Float64Array.from(r, (v) => Math.abs(v - med)).sort();
  const dm = dev.length % 2 ? dev[m] : (dev[m - 1] + dev[m]) / 2;
  return 1.4826 * dm;
}

/**
 * Fit y ≈ Σ_j coef_j · columns[j] (include a column of ones for an intercept) with every
 * coefficient ≥ 0, robustly.
 */
export function robustNnls(columns: readonly ArrayLike<number>[], y: ArrayLike<number>, opts: { maxIterations?: number } = {}): RobustFit {
  const p = columns.length;
  const n = y.length;
  if (n < p) throw new RangeError(`a fit of ${p} coefficients needs at least ${p} rows, got ${n}`);
  // Columns scaled to a maximum of 1: the normal equations stay well conditioned.
  const scales = columns.map((c) => {
    let m = 0;
    for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(c[i]));
    return m || 1;
  });
  const x = columns.map((c, j) => Float64Array.from({ length: n }, (_, i) => c[i] / scales[j]));
  const yy = Float64Array.from(y);
  const w = new Float64Array(n).fill(1);
  const fitted = new Float64Array(n);
  const residuals = new Float64Array(n);
  let coef = new Array<number>(p).fill(0);
  let support: number[] = [];
  let scale = 0;
  let it = 0;
  const maxIt = opts.maxIterations ?? 50;
  for (; it < maxIt; it++) {
    const sol = weightedNnls(x, yy, w);
    const change = sol.coef.reduce((m, v, j) => Math.max(m, Math.abs(v - coef[j]) / (Math.abs(v) + 1e-12)), 0);
    coef = sol.coef;
    support = sol.support;
    for (let i = 0; i < n; i++) {
      let f = 0;
      for (let j = 0; j < p; j++) f += coef[j] * x[j][i];
      fitted[i] = f;
      residuals[i] = yy[i] - f;
    }
    scale = mad(residuals);
    if (it > 0 && change < 1e-7) break;
    const c = HUBER_K * (scale > 0 ? scale : 1e-12);
    for (let i = 0; i < n; i++) {
      const a = Math.abs(residuals[i]);
      w[i] = a <= c ? 1 : c / a;
    }
  }
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yy[i];
  mean /= n;
  let sst = 0;
  let sse = 0;
  for (let i = 0; i < n; i++) {
    sst += (yy[i] - mean) ** 2;
    sse += residuals[i] ** 2;
  }
  return {
    coef: coef.map((v, j) => v / scales[j]),
    clamped: Array.from({ length: p }, (_, j) => j).filter((j) => !support.includes(j)),
    residuals,
    fitted,
    r2: sst > 0 ? 1 - sse / sst : sse === 0 ? 1 : 0,
    scale,
    iterations: it + 1,
  };
}
