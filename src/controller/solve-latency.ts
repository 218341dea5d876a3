import type { SolveWork } from '../planner/types.js';

/**
 * What a solve costs the engine in time. Live, it is measured (the solver runs beside the engine
 * in a worker thread). In virtual time a measured wall time would make the simulation depend on
 * the machine and its load, so the default there is a model: a deterministic function of the work
 * the solve did (`SolveWork`), calibrated from `npm run bench:plan` on the development machine
 * (BENCHMARKS.md). `fixed` charges a constant (0: decisions are instantaneous).
 */
export type SolverLatency = { mode: 'model' } | { mode: 'measured' } | { mode: 'fixed'; ms: number };

/**
 * The latency model, ms. A heuristic placement costs ~0.1 µs per request·layer plus a fixed part
 * (bench:plan: 0.05 ms at N = 16, L = 32; 0.5 ms at N = 64, L = 80); a GLPK call costs a fixed
 * part and ~1 µs per model nonzero (LP relaxation at N = 64, L = 80: 10–25 ms for ~15 k nonzeros);
 * the Lagrangian bound ~6 ns per (request × option) term it evaluates (N = 64, L = 80: 47 k–140 k
 * terms, 0.3–0.8 ms).
 */
export const LATENCY_MODEL = {
  perSolveMs: 0.01,
  perRequestLayerMs: 1e-4,
  perGlpkCallMs: 0.3,
  perNonzeroMs: 1e-3,
  perBoundTermMs: 6e-6,
} as const;

export function modelledSolveMs(w: SolveWork): number {
  const m = LATENCY_MODEL;
  return w.heuristicRuns * m.perSolveMs + w.requestLayers * m.perRequestLayerMs + (w.lpSolves + w.mipSolves) * m.perGlpkCallMs + w.nonzeros * m.perNonzeroMs + w.boundTerms * m.perBoundTermMs;
}

/** `--solver-latency model|measured|0|<ms>`; null when the text is none of these. */
export function parseSolverLatency(text: string): SolverLatency | null {
  if (text === 'model' || text === 'measured') return { mode: text };
  if (!/^\d+(\.\d+)?$/.test(text)) return null;
  const ms = Number(text);
  return Number.isFinite(ms) && ms >= 0 ? { mode: 'fixed', ms } : null;
}

export function describeSolverLatency(l: SolverLatency): string {
  return l.mode === 'fixed' ? `${l.ms} ms per solve` : l.mode;
}
