import type { BaselinePolicy } from '../cost/baselines.js';

/**
 * Placement policies of the reference engine: the paper's baselines (static or recomputed from
 * capacity), `orbitflow` (an in-process PlacementDriver re-plans with the planner) and `external`
 * (placements arrive only through the control protocol).
 */
export type EnginePolicy = BaselinePolicy | 'orbitflow' | 'external';

export const ENGINE_POLICIES: readonly EnginePolicy[] = ['gpu-only', 'deepspeed', 'flexgen', 'flexgen-plus', 'dynamic', 'slo-aware', 'orbitflow', 'external'];

export type RequestPhase = 'pending' | 'waiting' | 'running' | 'paused' | 'finished';

/** Why a request left the engine. `length` is the only successful end (the engine never samples EOS). */
export type FinishReason = 'length' | 'abort' | 'rejected';

/** One placement in a decision: a distance (−1 all on GPU, 0 all offloaded, d ≥ 1) or an explicit list of offloaded layers. */
export interface PlacementSpec {
  id: string;
  distance?: number;
  layers?: readonly number[];
}

/**
 * A plan to apply at a step boundary: the body of `PUT /orbitflow/v1/placement`, and what a
 * PlacementDriver returns. Applied all-or-nothing.
 */
export interface PlacementDecision {
  /** The step the plan was computed from (staleness check); undefined = the current step. */
  basedOnStep?: number;
  placements: readonly PlacementSpec[];
  pause?: readonly string[];
  resume?: readonly string[];
  /** Bookkeeping carried into the placement timeline (solver status, solve time). */
  note?: { trigger?: string; solveMs?: number; status?: string; predictedStepMs?: number };
}

export type DecisionResult =
  | { ok: true; appliedAtStep: number }
  | { ok: false; status: 400 | 409; reason: string; code: 'stale' | 'unknown-id' | 'wrong-state' | 'over-budget' | 'invalid' | 'not-pausable' };

/** Engine state as the control protocol and the controller see it. */
export interface RequestSnapshot {
  id: string;
  state: 'running' | 'paused' | 'waiting';
  promptTokens: number;
  contextTokens: number;
  generatedTokens: number;
  outputTokens: number;
  distance: number | null;
  offloadedLayers: number[];
  gpuLayers: number;
  gpuBlocks: number;
  paused: boolean;
  lastTokenMs: number | null;
  arrivalMs: number;
  preemptions: number;
}

export interface StepBreakdown {
  step: number;
  kind: 'prefill' | 'decode';
  startMs: number;
  endMs: number;
  /** What the step took (noise and engine-only effects included); on the wall clock, as measured. */
  durationMs: number;
  /** What the engine computed the step would take (it waits this long; ≠ durationMs only on the wall clock, by timer lag). */
  plannedMs: number;
  /** The CostModel's prediction for this batch and placement (no noise, no reload, no overheads). */
  predictedMs: number;
  computeMs: number;
  transferMs: number;
  stallMs: number;
  reloadMs: number;
  writeThroughMs: number;
  overheadMs: number;
  noiseFactor: number;
  bytesFetched: number;
  bytesReloaded: number;
  bytesWrittenBack: number;
  batchIds: string[];
  gpuBlocksUsed: number;
  /** Set when the active placement could not hold this step's growth and the engine fell back to the dynamic rule. */
  fallback: boolean;
  preempted: string[];
}

export interface EngineSnapshot {
  model: string;
  policy: EnginePolicy;
  layers: number;
  blockTokens: number;
  blockBytes: number;
  step: number;
  timeMs: number;
  maxNumSeqs: number;
  stalenessSteps: number;
  gpuBlocks: { total: number; used: number; free: number };
  hostBlocks: { total: number; used: number; free: number };
  /** One layer's worth of blocks per offloading request: the prefetch staging region, outside the KV budget. */
  stagingBlocks: number;
  requests: RequestSnapshot[];
  lastStep: StepBreakdown | null;
  counters: EngineCounters;
}

export interface EngineCounters {
  steps: number;
  decodeSteps: number;
  prefillSteps: number;
  preemptions: number;
  pauses: number;
  resumes: number;
  fallbacks: number;
  decisionsApplied: number;
  decisionsRejected: number;
  bytesFetched: number;
  bytesReloaded: number;
  bytesWrittenBack: number;
  finished: number;
  aborted: number;
  rejected: number;
}

/** One running or paused request as a driver sees it each step. */
export interface ActiveRequestView {
  id: string;
  contextTokens: number;
  generatedTokens: number;
  /** Tokens the client asked for (max_tokens). */
  outputTokens: number;
  /** Engine time of its last token, ms (NaN before the first). */
  lastTokenMs: number;
  paused: boolean;
  distance: number | null;
  offloaded: readonly number[];
  sloTpotMs?: number;
}

/** Read-only view of the engine handed to a PlacementDriver before every step. */
export interface EngineView {
  readonly step: number;
  readonly nowMs: number;
  readonly budgetBlocks: number;
  /** Bumped whenever the set of running ∪ paused requests changes (admission, finish, preemption, cancel). */
  readonly membershipVersion: number;
  readonly runningCount: number;
  readonly pausedCount: number;
  readonly waitingCount: number;
  /** GPU blocks the running batch needs after `steps` more tokens each, under the current placements. */
  forecastGpuBlocks(steps: number): number;
  /** Set when the last step fell back to the dynamic rule because the active plan did not fit. */
  readonly lastStepFellBack: boolean;
  snapshot(): EngineSnapshot;
  /** Cheap iteration over running and paused requests (no copies; `offloaded` must not be kept or changed). */
  forEachActive(fn: (r: ActiveRequestView) => void): void;
  /** The last step's breakdown (null before the first). */
  readonly lastStep: StepBreakdown | null;
  /** GPU blocks in use now. */
  readonly gpuUsed: number;
}

/**
 * What decides placements for `orbitflow`: called before each step; returns a decision to apply, or
 * null to keep the current plan. The minimal re-planner implements it now; the feedback controller
 * (src/controller) plugs into the same interface.
 */
export interface PlacementDriver {
  onStep(view: EngineView): Promise<PlacementDecision | null>;
  /** What the engine made of the last decision (a refusal carries the reason). */
  onDecisionResult?(result: DecisionResult, view: EngineView): void;
  /** Re-plans and solver time, for the comparison table. */
  stats?(): { replans: number; solveMs: number };
}

/** One entry of the placement timeline (`--out DIR/placements.jsonl`). */
export interface TimelineEntry {
  step: number;
  timeMs: number;
  source: 'policy' | 'driver' | 'control' | 'fallback';
  placements: { id: string; distance: number | null; offloaded: number }[];
  pause: string[];
  resume: string[];
  note?: PlacementDecision['note'];
}
