import type { MonotonicMs, SolveLimit } from '../core/solve-limit.js';
import type { CostModel, StepCost } from '../cost/cost-model.js';

export const PAUSE_POLICIES = ['longest', 'shortest', 'random', 'slo-loose', 'slo-strict'] as const;
export type PausePolicy = (typeof PAUSE_POLICIES)[number];

/** One request of the batch to place. */
export interface PlanRequest {
  id: string;
  contextTokens: number;
  /** Per-token SLO, ms; falls back to PlanInput.defaultSloTpotMs; none = no SLO. */
  sloTpotMs?: number;
  /** Token-Deposit balance: tokens banked ahead of the SLO cadence. */
  depositTokens?: number;
  /** Never choose this request as a pause victim (the controller sets it for requests paused too long). */
  noPause?: boolean;
  /**
   * The distance the request runs with now (a re-plan). Making an offloaded layer resident again
   * means fetching it once more, in the first step of the new plan: that step fetches the union of
   * the old and new offloaded layers, which the planner prices (see `keepWhereMovingDoesNotPay`).
   */
  currentDistance?: number;
  /** Decode steps the request has left, when known (the window never extends past them). */
  remainingSteps?: number;
}

export interface PlanInput {
  cost: CostModel;
  /** GPU KV budget in per-layer blocks. */
  budgetBlocks: number;
  requests: readonly PlanRequest[];
  /** Decode window W: memory headroom for W steps of growth, and the deposit horizon. Default 16. */
  windowSteps?: number;
  defaultSloTpotMs?: number;
  /** ILP time limit, ms (default 50). 0 skips the ILP (heuristic only). */
  timeLimitMs?: number;
  /** Stop the ILP search once the certificate's gap is at most this (default 0.001); 0 searches until proven or out of time. */
  gapTolerance?: number;
  pausePolicy?: PausePolicy;
  /** Also pause when that lowers the predicted SLO violations (default true); false = pause only for memory. */
  pauseForSlo?: boolean;
  /** Seed for the `random` pause policy. */
  seed?: number;
  /** Hold predicted step times to θ / sloMargin (≥ 1; default 1): the controller's measured error quantile. */
  sloMargin?: number;
  /** The ILP's limit (default: wall-clock `timeLimitMs`); virtual time counts work instead (src/core/solve-limit.ts). */
  solveLimit?: SolveLimit;
  /** Measures solve times (reported as wall-clock measurements); none given: they read 0. */
  clockMs?: MonotonicMs;
}

/** What a solve did, counted: the input of the modelled solve latency (src/controller/solve-latency.ts). */
export interface SolveWork {
  /** Heuristic placements computed, and Σ requests × layers over them. */
  heuristicRuns: number;
  requestLayers: number;
  lpSolves: number;
  mipSolves: number;
  /** Σ nonzeros of the GLPK models solved. */
  nonzeros: number;
  /** Lagrangian-bound terms evaluated (Σ requests × placement options over the bound's evaluations). */
  boundTerms: number;
}

/**
 * How the answer was obtained: `optimal` (ILP proved it), `feasible` (ILP stopped at its time
 * limit with an incumbent), `heuristic` (the ILP gave nothing better; the greedy's answer), `rule`
 * (a fixed baseline policy: no optimisation, the bound is only the compute floor L·t_c).
 */
export type SolverStatus = 'optimal' | 'feasible' | 'heuristic' | 'rule';

/** The SLO tier T sits under: the tightest threshold θ still met (violations are monotone in T). */
export interface SloTier {
  /** θ = S·W/(W − δ), ms: the request violates iff T > θ. */
  thetaMs: number;
  /** θ − T, ms. */
  slackMs: number;
  /** Requests sharing this θ. */
  requests: number;
}

export interface Certificate {
  status: SolverStatus;
  /** Predicted step time T of the answer, ms. */
  objectiveMs: number;
  /** Best proven lower bound on T, ms. */
  bestBoundMs: number;
  /** (objective − bound) / objective. */
  gap: number;
  solveMs: number;
  heuristicMs: number;
  /** Names of rows with no slack at the answer (memory, step-time rows by layer, SLO cap). */
  binding: string[];
  /** Requests kept on their current placement because moving them would cost more over the window than it gains (the switching step fetches old and new offloaded layers). */
  keptForReload?: number;
  /** The tightest SLO tier still met, or null when no request has an SLO left to meet. */
  sloTier?: SloTier | null;
  /** GLPK's raw status code (5 optimal, 2 feasible, 1 undefined, 4 no feasible); null when the ILP did not run. */
  glpkStatus?: number | null;
  work?: SolveWork;
  /** Under a work limit, a GLPK call ran into its safety time limit: this answer depends on the machine. */
  hitSafetyLimit?: boolean;
}

export interface RequestPlacement {
  id: string;
  contextTokens: number;
  /** −1 all on GPU, 0 all offloaded, d ≥ 1 the distance rule. */
  distance: number;
  offloaded: number[];
  gpuBlocks: number;
  paused: boolean;
  /** Predicted to miss its TPOT SLO (after deposit credit). */
  violates: boolean;
  /** The request's violation threshold θ on the step time, ms (null: no SLO, or its deposit covers the window). */
  thetaMs?: number | null;
}

export interface BatchPlan {
  policy: string;
  placements: RequestPlacement[];
  /** Ids paused by Pause-Resume (their GPU layers are freed). */
  paused: string[];
  step: StepCost;
  /** GPU per-layer blocks used, headroom and staging included. */
  memoryBlocks: number;
  budgetBlocks: number;
  violations: number;
  certificate: Certificate;
  /** Staging blocks (one layer's worth of the offloaded blocks) included in memoryBlocks. */
  stagingBlocks?: number;
  /** memoryBlocks > budgetBlocks: only a fixed baseline policy can produce such a plan. */
  overBudget?: boolean;
  windowSteps?: number;
}

export type PlanBatch = (input: PlanInput) => Promise<BatchPlan>;
