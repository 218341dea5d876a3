import type { Instance } from './instance.js';

/**
 * A lower bound on the step time T of every plan that fits, in microseconds of arithmetic rather
 * than a GLPK solve. Two relaxations of the ILP (src/planner/ilp.ts):
 *
 *   - T is at least any one of its step rows, (L − j)·t_c + Σ_r τ_r · cnt_{k_r}(j), where cnt_k(j)
 *     is how many layers ≤ j option k offloads (the closed form's max is over these rows);
 *   - the staging peak is at least the staging of any one layer j′, so the memory row
 *     Σ_r (L − n_k)·g_r + Σ_{r offloads j′} g_r ≤ C holds for every plan that fits.
 *
 * Dualising the memory row with λ ≥ 0 leaves one independent choice per request:
 *
 *   LB(j, j′, λ) = (L − j)·t_c − λ·C + Σ_r min_k [ τ_r·cnt_k(j) + λ·g_r·((L − n_k) + [k offloads j′]) ]
 *
 * which is a valid bound for every (j, j′, λ). It is concave and piecewise linear in λ, its slope
 * the relaxed memory of the minimising choices minus C, so bisection on the slope's sign finds its
 * top; that is done for the given rows and staging layers and the best bound is returned (or the
 * first that reaches `enoughMs`: the caller needs no better one).
 */
export function lagrangianBound(inst: Instance, rows: readonly number[], stagingLayers: readonly number[], enoughMs = Infinity): { boundMs: number; terms: number } {
  const L = inst.layers;
  const tc = inst.tcMs;
  const N = inst.requests.length;
  const O = inst.options.length;
  let best = L * tc;
  // Work, counted: one term per request per hull vertex looked at, plus each hull's build.
  let terms = 0;
  if (N === 0) return { boundMs: best, terms };
  const resident = new Float64Array(O);
  for (let k = 0; k < O; k++) resident[k] = L - inst.options[k].n;
  const cnt = new Float64Array(O);
  const stag = new Float64Array(O);
  // Per (row, staging layer) only the lower-left convex hull of the points (cnt_k, mem_k) can
  // minimise a·cnt + b·mem with a, b ≥ 0: cnt ascending, mem descending, convex. Along it the
  // objective is unimodal, so each request's minimum is a binary search, not a scan of every option.
  const order = Array.from({ length: O }, (_, k) => k);
  const hc = new Float64Array(O);
  const hm = new Float64Array(O);
  let H = 0;
  const buildHull = (): void => {
    const mem = (k: number): number => resident[k] + stag[k];
    order.sort((x, y) => cnt[x] - cnt[y] || mem(x) - mem(y));
    H = 0;
    for (const k of order) {
      const c = cnt[k];
      const m = mem(k);
      if (H > 0 && m >= hm[H - 1]) continue;
      while (H >= 2 && (hc[H - 1] - hc[H - 2]) * (m - hm[H - 2]) - (hm[H - 1] - hm[H - 2]) * (c - hc[H - 2]) <= 0) H--;
      hc[H] = c;
      hm[H] = m;
      H++;
    }
  };
  let slope = 0;
  const value = (lambda: number): number => {
    terms += N * (1 + 2 * Math.ceil(Math.log2(Math.max(1, H))));
    let v = -lambda * inst.budgetBlocks;
    let mem = 0;
    for (let r = 0; r < N; r++) {
      const q = inst.requests[r];
      const b = lambda * q.growthBlocks;
      let lo = 0;
      let hi = H - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (q.copyMs * hc[mid + 1] + b * hm[mid + 1] < q.copyMs * hc[mid] + b * hm[mid]) lo = mid + 1;
        else hi = mid;
      }
      v += q.copyMs * hc[lo] + b * hm[lo];
      mem += q.growthBlocks * hm[lo];
    }
    slope = mem - inst.budgetBlocks;
    return v;
  };
  // Past this price of a block (ms of copy per block freed) every request is best fully offloaded.
  let maxCopy = 0;
  let gMin = Infinity;
  for (const q of inst.requests) {
    maxCopy = Math.max(maxCopy, q.copyMs * L);
    gMin = Math.min(gMin, q.growthBlocks);
  }
  const lambdaHi = (2 * maxCopy) / Math.max(1, gMin);
  // The top of LB over λ, or the first value at least `enough` (every λ gives a valid bound).
  const maximise = (enough: number): number => {
    let top = value(0);
    if (slope <= 0 || top >= enough) return top;
    let lo = 0;
    let hi = lambdaHi;
    for (let it = 0; it < BISECTION_STEPS; it++) {
      const mid = (lo + hi) / 2;
      top = Math.max(top, value(mid));
      if (top >= enough) return top;
      if (slope > 0) lo = mid;
      else hi = mid;
    }
    return Math.max(top, value(lo), value(hi));
  };
  for (const j of rows) {
    for (let k = 0; k < O; k++) {
      let c = 0;
      for (const l of inst.options[k].offloaded) if (l <= j) c++;
      cnt[k] = c;
    }
    for (const js of stagingLayers) {
      for (let k = 0; k < O; k++) stag[k] = inst.options[k].ind[js];
      buildHull();
      terms += O;
      best = Math.max(best, (L - j) * tc + maximise(enoughMs - (L - j) * tc));
      if (best >= enoughMs) return { boundMs: best, terms };
    }
  }
  return { boundMs: best, terms };
}

/** Bisection steps per (row, staging layer): the bracket shrinks to 2^−40 of λmax. */
const BISECTION_STEPS = 40;
