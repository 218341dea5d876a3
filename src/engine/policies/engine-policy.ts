import type { Placement } from '../../core/placement.js';
import type { BaselinePolicy } from '../../cost/baselines.js';

/** What a placement policy may read and change of the engine. */
export interface PolicyHost {
  readonly layers: number;
  /** Bumped whenever the set of running ∪ paused requests changes. */
  readonly membershipVersion: number;
  /** The shared Placement object of a distance (−1 all on GPU, 0 all offloaded, d ≥ 1). */
  placement(distance: number): Placement;
  /** The distance a baseline rule gives the running batch, counting one more request of `extraTokens` when given. */
  uniformDistance(rule: BaselinePolicy, extraTokens?: number): number;
  /** Give running requests placement `p`; with `keepDecided`, requests a decision placed keep theirs. */
  placeRunning(p: Placement, keepDecided: boolean): void;
}

export interface AdmissionPlacement {
  placement: Placement;
  /** Uniform rules re-place the whole running batch with the newcomer's placement. */
  uniform: boolean;
}

/**
 * One placement policy of the reference engine: where an admitted request's layers go, what
 * happens to the running batch's placements before each decode step, and whether the policy keeps
 * the host copy that pausing and offloading need. The engine keeps the block ledger and the step
 * loop; a policy only decides placements.
 */
export interface EnginePolicy {
  readonly name: string;
  /** Keeps a write-through host copy of every layer: it can offload and pause (gpu-only cannot). */
  readonly hostTier: boolean;
  /** Placements, pauses and admissions come from decisions (a driver or the control protocol). */
  readonly driven: boolean;
  /** Where a request of `tokens` (prompt, plus generated when recomputed) would go if admitted now. */
  admission(host: PolicyHost, tokens: number): AdmissionPlacement;
  /** The fewest GPU-resident layers any admission of this policy has (a prompt that cannot fit so never will). */
  minAdmissionGpuLayers(layers: number): number;
  /** Re-place the running batch before a decode step (rules recomputed from capacity). */
  beforeDecode(host: PolicyHost): void;
  /** When the batch's growth does not fit: re-place for memory once before the engine preempts (driven policies). */
  relieveMemory?(host: PolicyHost): void;
}
