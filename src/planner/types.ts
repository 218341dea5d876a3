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
}

export interface PlanInput {
  cost: CostModel;
  /** GPU KV budget in per-layer blocks. */
  budgetBlocks: number;
  requests: readonly PlanRequest[];
  /** Decode window W: memory headroom for W steps of growth, and the deposit horizon. Default 16. */
  windowSteps?: number;
  defaultSloTpotMs?: number;
  /** ILP time limit, ms (default 50). */
  timeLimitMs?: number;
  pausePolicy?: PausePolicy;
  /** Seed for the `random` pause policy. */
  seed?: number;
}

export type SolverStatus = 'optimal' | 'feasible' | 'heuristic';

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
}

export type PlanBatch = (input: PlanInput) => Promise<BatchPlan>;
