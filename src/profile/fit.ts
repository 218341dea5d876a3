import { solveLinear } from '../core/linear-solve.js';

/**
 * The decode-cost fit: per-layer time = base + per_seq · batch + per_token · Σ context, by least
 * squares over the probe's batch × context grid, with every coefficient held non-negative (a
 * negative per-sequence or per-token cost is noise, and the profile format forbids it).
 * Pure: numbers in, numbers out.
 */
export interface DecodeSample {
  batch: number;
  /** Σ context tokens of the batch. */
  contextTokens: number;
  ms: number;
}

export const COEFFICIENT_NAMES = ['base_ms', 'per_seq_ms', 'per_token_ms'] as const;

export interface DecodeFitResult {
  baseMs: number;
  perSeqMs: number;
  perTokenMs: number;
  r2: number;
  rmseMs: number;
  /** measured − fitted, per sample, in input order. */
  residualsMs: number[];
  maxResidualMs: number;
  minResidualMs: number;
  /** Coefficients held at 0 by the non-negativity constraint. */
  clamped: string[];
  points: number;
}

/** Least squares on the chosen columns of X (each already scaled); null when they are collinear. */
function leastSquares(x: number[][], y: number[], cols: number[]): number[] | null {
  const ata = cols.map((i) => cols.map((j) => x.reduce((s, row) => s + row[i] * row[j], 0)));
  const aty = cols.map((i) => x.reduce((s, row, r) => s + row[i] * y[r], 0));
  return solveLinear(ata, aty);
}

export function fitDecodeLinear(samples: readonly DecodeSample[]): DecodeFitResult {
  if (samples.length < 3) throw new RangeError(`a decode fit needs at least 3 points, got ${samples.length}`);
  const y = samples.map((s) => s.ms);
  // Scale each column to a maximum of 1 so the normal equations stay well conditioned (Σ context
  // reaches 10⁶ while the intercept column is 1).
  const raw = samples.map((s) => [1, s.batch, s.contextTokens]);
  const scale = [0, 1, 2].map((j) => Math.max(...raw.map((r) => Math.abs(r[j]))) || 1);
  const x = raw.map((r) => r.map((v, j) => v / scale[j]));

  // Non-negative least squares by enumerating supports: with three columns, the best feasible
  // restricted solution over all 2³ supports is the exact NNLS optimum.
  let best: { coef: number[]; sse: number; support: number[] } | null = null;
  for (let mask = 7; mask >= 0; mask--) {
    const cols = [0, 1, 2].filter((j) => mask & (1 << j));
    const coef = [0, 0, 0];
    if (cols.length > 0) {
      const sol = leastSquares(x, y, cols);
      if (!sol || sol.some((v) => v < 0)) continue;
      cols.forEach((j, k) => (coef[j] = sol[k]));
    }
    const sse = x.reduce((s, row, r) => {
      const e = y[r] - (row[0] * coef[0] + row[1] * coef[1] + row[2] * coef[2]);
      return s + e * e;
    }, 0);
    // A wider support wins ties (it was tried first), so an exact fit keeps every coefficient.
    if (!best || sse < best.sse * (1 - 1e-9)) best = { coef, sse, support: cols };
  }
  const chosen = best!;
  const [baseMs, perSeqMs, perTokenMs] = chosen.coef.map((v, j) => v / scale[j]);
  const residualsMs = samples.map((s) => s.ms - (baseMs + perSeqMs * s.batch + perTokenMs * s.contextTokens));
  const meanY = y.reduce((a, b) => a + b, 0) / y.length;
  const sst = y.reduce((a, v) => a + (v - meanY) * (v - meanY), 0);
  const sse = residualsMs.reduce((a, e) => a + e * e, 0);
  return {
    baseMs,
    perSeqMs,
    perTokenMs,
    r2: sst > 0 ? 1 - sse / sst : sse === 0 ? 1 : 0,
    rmseMs: Math.sqrt(sse / samples.length),
    residualsMs,
    maxResidualMs: Math.max(...residualsMs),
    minResidualMs: Math.min(...residualsMs),
    clamped: [0, 1, 2].filter((j) => !chosen.support.includes(j)).map((j) => COEFFICIENT_NAMES[j]),
    points: samples.length,
  };
}

/** The upper envelope: the same slopes, the intercept raised so no sample lies above the line. */
export function upperEnvelope(fit: DecodeFitResult): { baseMs: number; raisedByMs: number } {
  const raisedByMs = Math.max(0, fit.maxResidualMs);
  return { baseMs: fit.baseMs + raisedByMs, raisedByMs };
}
