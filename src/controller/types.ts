import type { BatchPlan } from '../planner/types.js';

/** What the controller sees of the engine after each step, whatever the engine and clock. */
export interface ObservedRequest {
  id: string;
  contextTokens: number;
  generatedTokens: number;
  /** Tokens the request will produce in all (max_tokens), when the engine says. */
  outputTokens?: number;
  paused: boolean;
  /** Current placement: distance (−1 all GPU, 0 all offloaded, d ≥ 1), or null when given as layers. */
  distance: number | null;
  /** 0-based offloaded layers of the current placement. */
  offloaded: readonly number[];
  sloTpotMs?: number;
}

export interface StepObservation {
  step: number;
  /** A prefill step's time says nothing about decode: it feeds triggers, not the correction. */
  kind: 'decode' | 'prefill';
  /** Engine clock at the end of the step, ms (virtual or wall). */
  nowMs: number;
  stepMs: number;
  computeMs?: number;
  transferMs?: number;
  stallMs?: number;
  /** Requests in the running batch and paused ones. */
  requests: ObservedRequest[];
  /** Ids that decoded in this step. */
  batchIds?: string[];
  gpuBlocksTotal: number;
  gpuBlocksUsed: number;
}

/** A plan to push to the engine (control protocol PUT /orbitflow/v1/placement). */
export interface ControlAction {
  basedOnStep: number;
  placements: { id: string; distance: number }[];
  pause: string[];
  resume: string[];
}

export const TRIGGERS = ['batch-changed', 'memory-forecast', 'drift', 'window', 'rejected'] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** One controller action, logged with its trigger, predicted effect and measured outcome. */
export interface ActionRecord {
  seq: number;
  trigger: Trigger;
  /** Step the plan was solved for, and the step it was applied at (null when rejected/stale). */
  basedOnStep: number;
  appliedAtStep: number | null;
  solvedAtMs: number;
  appliedAtMs: number | null;
  solveMs: number;
  status: string;
  predictedStepMs: number;
  predictedViolations: number;
  paused: string[];
  resumed: string[];
  changedPlacements: number;
  /** Mean measured step time over the steps this plan was active (filled as they happen). */
  measuredStepMs: number | null;
  measuredSteps: number;
  rejectedReason?: string;
}

/** Solves one batch; in-process (virtual time) or in a worker thread (live). */
export interface BatchSolver {
  solve(input: SolveRequest): Promise<BatchPlan>;
  close?(): Promise<void>;
}

export interface SolveRequest {
  requests: { id: string; contextTokens: number; sloTpotMs?: number; depositTokens?: number; currentDistance?: number; remainingSteps?: number }[];
  budgetBlocks: number;
  windowSteps: number;
  timeLimitMs: number;
  pausePolicy: string;
  computeScale: number;
  bandwidthScale: number;
  seed: number;
  /** Ids that must not be chosen as pause victims (paused too long already). */
  noPause: string[];
  /** `ilp`: per-request placements (the planner); `uniform`: one shared distance (the ablation). */
  mode: 'ilp' | 'uniform';
  /** Pause-Resume enabled. */
  pause: boolean;
  /** Pause also to cut predicted SLO violations, not only when memory runs out. */
  pauseForSlo: boolean;
}
