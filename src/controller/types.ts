import type { AdmissionSettings, AdmissionVerdict } from '../planner/admission.js';
import type { WindowPlan } from '../planner/window-plan.js';

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
  /** Engine time of its first token, ms (undefined before it, or when the engine does not say). */
  firstTokenMs?: number;
}

/** A waiting request at the head of the engine's queue. */
export interface WaitingObservation {
  id: string;
  /** Tokens its prefill computes (prompt + what a recompute preemption lost). */
  prefillTokens: number;
  outputTokens: number;
  arrivalMs: number;
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
  /** The head of the waiting queue, in admission order (absent: the engine does not say). */
  waiting?: WaitingObservation[];
  /** The engine's max-num-seqs (absent: admission control stays off). */
  maxNumSeqs?: number;
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
  /** Waiting requests to admit with their placements; the rest wait `holdSteps` while something runs. */
  admit: { id: string; distance: number }[];
  holdSteps: number;
  reject: string[];
  /** Waiting requests deferred to the end of the run: the engine's own rule must not admit them. */
  defer: string[];
}

export const TRIGGERS = ['batch-changed', 'memory-forecast', 'drift', 'window', 'rejected', 'admission'] as const;
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
  /** Latency charged (see the controller's `solverLatency`). */
  solveMs: number;
  status: string;
  predictedStepMs: number;
  predictedViolations: number;
  paused: string[];
  resumed: string[];
  admitted: string[];
  refused: string[];
  /** The admission decision's verdict (null: no one was waiting, or admission control is off). */
  admission: AdmissionVerdict | null;
  changedPlacements: number;
  /** Mean measured step time over the steps this plan was active (filled as they happen). */
  measuredStepMs: number | null;
  measuredSteps: number;
  rejectedReason?: string;
}

/** Solves one batch; in-process (virtual time) or in a worker thread (live). */
export interface BatchSolver {
  solve(input: SolveRequest): Promise<WindowPlan>;
  close?(): Promise<void>;
}

/** One active request of a solve, at the step boundary the plan lands at. */
export interface SolveRequestItem {
  id: string;
  contextTokens: number;
  paused: boolean;
  sloTpotMs?: number;
  depositTokens?: number;
  currentDistance?: number;
  remainingSteps?: number;
  outputTokens?: number;
  generatedTokens: number;
  /** Engine ms since its first token. */
  decodeElapsedMs: number;
}

export interface SolveRequest {
  requests: SolveRequestItem[];
  /** The head of the waiting queue with how long each has waited (empty: admission is not asked). */
  waiting: { id: string; prefillTokens: number; outputTokens: number; waitedMs: number; sloTpotMs?: number }[];
  freeSeqs: number;
  /** Admission control settings (null: off). */
  admission: AdmissionSettings | null;
  /** Hold step times to θ / sloMargin (the measured error quantile). */
  sloMargin: number;
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
  /** `wall`: the ILP stops at `timeLimitMs` (live); `work`: at a count of GLPK rounds (virtual time). */
  solveLimit: 'wall' | 'work';
  /** Pause-Resume enabled. */
  pause: boolean;
  /** Pause also to cut predicted SLO violations, not only when memory runs out. */
  pauseForSlo: boolean;
}
