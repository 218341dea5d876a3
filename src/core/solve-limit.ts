/**
 * How long the ILP may search. Live, a solve races the engine, so its limit is wall-clock time.
 * In virtual time a wall-clock limit would make the result depend on the machine and its load,
 * so the limit is counted in work instead: rounds of the LP relaxation (each one GLPK simplex
 * solve, which ends by itself). GLPK's branch and bound is not run under a work limit: glpk.js
 * bounds it only by wall time, and its heavy tail (seconds on some 13-request batches) would
 * make the answer depend on where that timer stops.
 */
export type SolveLimit = { kind: 'wall'; ms: number } | { kind: 'work'; lpRounds: number };

/** GLPK's time limit per LP solve under a work limit: far above any LP seen, so never the reason a search stops (a solve that hits it is flagged). */
export const WORK_SAFETY_MS = 10_000;

/** A monotonic millisecond clock for measuring (never for deciding, in virtual time). */
export type MonotonicMs = () => number;

/** The clock of code that was not given one: it measures nothing. */
export const NO_CLOCK: MonotonicMs = () => 0;

export function searchesAtAll(limit: SolveLimit): boolean {
  return limit.kind === 'wall' ? limit.ms > 0 : limit.lpRounds > 0;
}
