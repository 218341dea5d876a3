import { percentileSorted } from '../../core/stats.js';
import type { DecodeGapSample } from './reconstruct.js';
import { robustNnls } from './robust-fit.js';

/**
 * The profile's decode model fitted to reconstructed decode gaps: a step of B requests with X
 * context tokens in all takes L · (base + per_seq · B + per_token · X) ms, so the gap is regressed
 * on (1, B, X) robustly with non-negative coefficients and the step coefficients divided by L.
 * What the engine adds to every step (scheduling, sampling, launches) is inside `base` here: it
 * cannot be told apart from the per-layer base from the outside.
 *
 * The per-sequence term competes with the per-token one (a batch's context grows with its size),
 * so it is kept only when the data asks for it: by the Bayesian information criterion over the
 * distinct engine steps (the gaps of one step share its time, so they are not independent), the
 * fit with it must beat the fit without it by more than one parameter's penalty.
 */
export interface DecodeFitOutcome {
  /** Per-layer coefficients, ms (the profile's linear fit). */
  baseMs: number;
  perSeqMs: number;
  perTokenMs: number;
  /** The same for the whole step (× L), ms. */
  step: { baseMs: number; perSeqMs: number; perTokenMs: number };
  r2: number;
  samples: number;
  residualMs: { p50: number; p90: number; p99: number };
  residualRel: { p50: number; p90: number; p99: number };
  /** 1.4826 · MAD of (measured − fitted) / fitted: the step-time noise as seen from outside. */
  residualCv: number;
  /** Largest residual below the 99th percentile, ms per step: what the upper fit adds. */
  p99ResidualMs: number;
  clamped: string[];
  /** Distinct engine steps the gaps came from (the sample size of the model choice). */
  steps: number;
  /** Whether the per-sequence term was dropped as not supported by the data. */
  perSeqDropped: boolean;
}

const NAMES = ['base_ms', 'per_seq_ms', 'per_token_ms'];

function pcts(xs: Float64Array): { p50: number; p90: number; p99: number } {
  const s = Float64Array.from(xs).sort();
  const a = Array.from(s);
  return { p50: percentileSorted(a, 50), p90: percentileSorted(a, 90), p99: percentileSorted(a, 99) };
}

/** Engine steps behind the gaps: step ends closer than a quarter of the median gap are one step. */
export function distinctSteps(samples: readonly DecodeGapSample[]): number {
  if (samples.length === 0) return 0;
  const t = Float64Array.from(samples, (s) => s.tMs).sort();
  const g = Float64Array.from(samples, (s) => s.ms).sort();
  const tol = 0.25 * g[g.length >>> 1];
  let n = 1;
  for (let i = 1; i < t.length; i++) if (t[i] - t[i - 1] > tol) n++;
  return n;
}

/** Huber loss of residuals at a given scale. */
function huberLoss(res: Float64Array, scale: number): number {
  const c = 1.345 * (scale > 0 ? scale : 1e-12);
  let l = 0;
  for (const r of res) {
    const a = Math.abs(r);
    l += a <= c ? (a * a) / 2 : c * a - (c * c) / 2;
  }
  return l;
}

export function fitDecodeFromGaps(samples: readonly DecodeGapSample[], layers: number): DecodeFitOutcome {
  const n = samples.length;
  const ones = new Float64Array(n).fill(1);
  const batch = Float64Array.from(samples, (s) => s.batch);
  const ctx = Float64Array.from(samples, (s) => s.contextTokens);
  const y = Float64Array.from(samples, (s) => s.ms);
  let fit = robustNnls([ones, batch, ctx], y);
  const steps = distinctSteps(samples);
  let perSeqDropped = false;
  if (fit.coef[1] > 0) {
    const without = robustNnls([ones, ctx], y);
    const full = huberLoss(fit.residuals, fit.scale);
    const reduced = huberLoss(without.residuals, fit.scale);
    // BIC: keep the term only when N · ln(L_without / L_with) > ln N, N the distinct steps.
    if (!(full > 0) || steps * Math.log(reduced / full) <= Math.log(Math.max(steps, 2))) {
      perSeqDropped = true;
      fit = { ...without, coef: [without.coef[0], 0, without.coef[1]], clamped: without.clamped.map((j) => (j === 0 ? 0 : 2)) };
    }
  }
  const [b, s, t] = fit.coef;
  const absRes = Float64Array.from(fit.residuals, Math.abs);
  const rel = Float64Array.from(fit.residuals, (r, i) => (fit.fitted[i] > 0 ? r / fit.fitted[i] : 0));
  const absRel = Float64Array.from(rel, Math.abs);
  const sortedRel = Float64Array.from(rel).sort();
  const med = sortedRel[sortedRel.length >>> 1];
  const dev = Float64Array.from(rel, (v) => Math.abs(v - med)).sort();
  const residualCv = 1.4826 * dev[dev.length >>> 1];
  const signed = Array.from(Float64Array.from(fit.residuals).sort());
  return {
    baseMs: b / layers,
    perSeqMs: s / layers,
    perTokenMs: t / layers,
    step: { baseMs: b, perSeqMs: s, perTokenMs: t },
    r2: fit.r2,
    samples: n,
    residualMs: pcts(absRes),
    residualRel: pcts(absRel),
    residualCv,
    p99ResidualMs: Math.max(0, percentileSorted(signed, 99)),
    clamped: fit.clamped.map((j) => NAMES[j]),
    steps,
    perSeqDropped,
  };
}
