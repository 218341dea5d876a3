import { percentileSorted } from '../../core/stats.js';
import type { PrefillSample } from './reconstruct.js';

/**
 * Prefill cost from TTFT net of queueing. The cost model's prefill of n prompt tokens is
 * L · max(FLOPs(n) / (dense TFLOPs · efficiency), one decode layer of n tokens); the TFLOPs come
 * from the base profile, so the one number a replay identifies is the efficiency (their product).
 * It is chosen to minimise Σ |log(predicted / measured)| over the prefill steps (robust, scale-
 * free), by a log-spaced grid and a golden-section refinement. When every prefill is short enough
 * that the decode floor decides, the efficiency is not identified and is kept from the base.
 */
export interface PrefillFitOutcome {
  efficiency: number;
  identified: boolean;
  samples: number;
  /** |predicted − measured| / measured at the chosen efficiency. */
  errorRel: { p50: number; p90: number } | null;
}

/** `stepMs(eff, prompts)`: the predicted prefill step of those prompts at efficiency `eff`. */
export type PrefillPredictor = (efficiency: number, prompts: readonly number[]) => number;

const MIN_SAMPLES = 3;

export function fitPrefillEfficiency(samples: readonly PrefillSample[], predict: PrefillPredictor, fallback: number): PrefillFitOutcome {
  const usable = samples.filter((s) => s.ms > 0);
  if (usable.length < MIN_SAMPLES) return { efficiency: fallback, identified: false, samples: usable.length, errorRel: null };
  const loss = (eff: number): number => {
    let l = 0;
    for (const s of usable) l += Math.abs(Math.log(predict(eff, s.prompts) / s.ms));
    return l;
  };
  const lo = Math.log(0.002);
  const hi = Math.log(50);
  const steps = 160;
  let bestI = 0;
  let bestL = Infinity;
  for (let i = 0; i <= steps; i++) {
    const l = loss(Math.exp(lo + ((hi - lo) * i) / steps));
    if (l < bestL) {
      bestL = l;
      bestI = i;
    }
  }
  let a = lo + ((hi - lo) * Math.max(0, bestI - 1)) / steps;
  let b = lo + ((hi - lo) * Math.min(steps, bestI + 1)) / steps;
  const phi = (Math.sqrt(5) - 1) / 2;
  for (let k = 0; k < 40; k++) {
    const c = b - phi * (b - a);
    const d = a + phi * (b - a);
    if (loss(Math.exp(c)) <= loss(Math.exp(d))) b = d;
    else a = c;
  }
  const eff = Math.exp((a + b) / 2);
  // Identified when enough prefills are above the decode floor (their time depends on eff).
  const floorOnly = (s: PrefillSample): number => predict(eff * 1e6, s.prompts);
  const above = usable.filter((s) => predict(eff, s.prompts) > 1.02 * floorOnly(s)).length;
  const errs = usable.map((s) => Math.abs(predict(eff, s.prompts) - s.ms) / s.ms).sort((x, y) => x - y);
  const errorRel = { p50: percentileSorted(errs, 50), p90: percentileSorted(errs, 90) };
  if (above < MIN_SAMPLES) return { efficiency: fallback, identified: false, samples: usable.length, errorRel: null };
  return { efficiency: eff, identified: true, samples: usable.length, errorRel };
}
