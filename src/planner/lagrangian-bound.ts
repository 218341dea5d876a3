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
  let evaluations = 0;
  if (N === 0) return { boundMs: best, terms: 0 };
  const resident = new Float64Array(O);
  for (let k = 0; k < O; k++) resident[k] = L - inst.options[k].n;
  const cnt = new Float64Array(O);
  const stag = new Float64Array(O);
  let slope = 0;
  const value = (lambda: number): number => {
    evaluations++;
    let v = -lambda * inst.budgetBlocks;
    let mem = 0;
    for (let r = 0; r < N; r++) {
      const q = inst.requests[r];
      let m = Infinity;
      let mk = 0;
      for (let k = 0; k < O; k++) {
        const x = q.copyMs * cnt[k] + lambda * q.growthBlocks * (resident[k] + stag[k]);
        if (x < m) {
          m = x;
          mk = k;
        }
      }
      v += m;
      mem += q.growthBlocks * (resident[mk] + stag[mk]);
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
      best = Math.max(best, (L - j) * tc + maximise(enoughMs - (L - j) * tc));
      if (best >= enoughMs) return { boundMs: best, terms: evaluations * N * O };
    }
  }
  return { boundMs: best, terms: evaluations * N * O };
}

/** Bisection steps per (row, staging layer): the bracket shrinks to 2^−40 of λmax. */
const BISECTION_STEPS = 40;
