import type { EnginePolicyName } from './policies/registry.js';

export { ENGINE_POLICIES, type EnginePolicyName } from './policies/registry.js';

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
  /**
   * Waiting requests to admit, in this order, each with its placement (a distance or layers). A
   * grant that does not fit when the engine next admits stays until the next decision replaces it.
   */
  admit?: readonly PlacementSpec[];
  /**
   * Waiting requests to refuse (finished as `rejected`, the client gets an error): the controller's
   * verdict on a request that fits the GPU only offloaded and could not meet its SLO even alone, or
   * was deferred to the end of the run and would not finish in the time the run may add for it.
   */
  reject?: readonly string[];
  /**
   * Waiting requests the engine's own admission rule must not admit while anything runs or is
   * paused (only a grant does): the controller serves them later, or refuses them. One at the head
   * of the queue stops the engine's own admission. Replaces the previous list; ids no longer
   * waiting are void.
   */
  defer?: readonly string[];
  /**
   * Hold every other waiting request for this many steps while something runs (the controller's
   * "not now"); 0 or absent lets the engine's own admission rule run. Capped by the engine.
   */
  holdSteps?: number;
  /** Bookkeeping carried into the placement timeline (solver status, solve time). */
  note?: { trigger?: string; solveMs?: number; status?: string; predictedStepMs?: number };
}

/** Why a decision was refused; the control protocol maps `invalid` to 400 and the rest to 409. */
export type DecisionRefusal = 'stale' | 'unknown-id' | 'wrong-state' | 'over-budget' | 'invalid' | 'not-pausable';

export type DecisionResult = { ok: true; appliedAtStep: number } | { ok: false; reason: string; code: DecisionRefusal };

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
  firstTokenMs: number | null;
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
  policy: EnginePolicyName;
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
  /** Engine time of its first token, ms (NaN before it). */
  firstTokenMs: number;
  paused: boolean;
  distance: number | null;
  offloaded: readonly number[];
  sloTpotMs?: number;
}

/** One waiting request as a driver sees it (the head of the queue, in admission order). */
export interface WaitingRequestView {
  id: string;
  /** Tokens its prefill computes: the prompt, plus what it had generated before a recompute preemption. */
  prefillTokens: number;
  generatedTokens: number;
  outputTokens: number;
  arrivalMs: number;
  sloTpotMs?: number;
}

/** Read-only view of the engine handed to a PlacementDriver before every step. */
export interface EngineView {
  readonly step: number;
  readonly nowMs: number;
  readonly budgetBlocks: number;
  readonly maxNumSeqs: number;
  /** Bumped whenever the set of running ∪ paused requests changes (admission, finish, preemption, cancel). */
  readonly membershipVersion: number;
  /** Cheap iteration over running and paused requests (no copies; `offloaded` must not be kept or changed). */
  forEachActive(fn: (r: ActiveRequestView) => void): void;
  /** The first `limit` waiting requests in admission order (the queue can be long; only its head is visited). */
  forEachWaiting(limit: number, fn: (r: WaitingRequestView) => void): void;
  readonly waitingCount: number;
  /** The last step's breakdown (null before the first). */
  readonly lastStep: StepBreakdown | null;
  /** GPU blocks in use now. */
  readonly gpuUsed: number;
}

/**
 * What decides placements for `orbitflow`: called before each step; returns a decision to apply, or
 * null to keep the current plan. The feedback controller (src/controller) implements it in-process.
 */
export interface PlacementDriver {
  onStep(view: EngineView): Promise<PlacementDecision | null>;
  /** What the engine made of the last decision (a refusal carries the reason). */
  onDecisionResult?(result: DecisionResult, view: EngineView): void;
  /** Re-plans and solver time, for the comparison table. */
  stats?(): DriverStats;
}

/** What a placement driver reports of its solves: `solveMs` is the latency charged to engine time. */
export interface DriverStats {
  replans: number;
  solveMs: number;
  solveP99Ms: number;
  medianStepMs: number;
  /** Wall-clock time this machine spent solving (a measurement of the machine, not of the simulation). */
  solveWallMs: number;
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
