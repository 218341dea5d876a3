import { blocksPerLayer } from '../core/model-spec.js';
import type { CostModel } from '../cost/cost-model.js';
import { closedFormStep } from '../cost/step-time.js';
import { growthBlocks } from './memory.js';
import { placementOptions } from './options.js';
import type { PlanRequest } from './types.js';

/** One request as the solvers see it: all numbers precomputed once per solve. */
export interface InstanceRequest {
  id: string;
  contextTokens: number;
  /** ⌈(ctx + W)/16⌉: blocks per resident layer, with the window's growth. */
  growthBlocks: number;
  /** τ_r: time to fetch one layer of this request, ms. */
  copyMs: number;
  /** Bytes of one layer of this request (what one fetch moves). */
  layerBytes: number;
  sloTpotMs: number | undefined;
  depositTokens: number;
  /** θ_r: the request violates its SLO iff the step time T > θ_r (Infinity: never). */
  thetaMs: number;
  noPause: boolean;
}

/** One placement option, sorted by offload count n ascending (index 0 = all on GPU). */
export interface InstanceOption {
  distance: number;
  n: number;
  offloaded: readonly number[];
  /** ind[j] = 1 iff layer j is offloaded. */
  ind: Uint8Array;
}

export interface Instance {
  layers: number;
  /** t_c: per-layer compute of the whole batch, ms (independent of placement). */
  tcMs: number;
  windowSteps: number;
  budgetBlocks: number;
  requests: InstanceRequest[];
  options: InstanceOption[];
}

/**
 * θ_r = S_r · W / (W − δ_r): the artifact's late fraction f_r ≥ 1 − S_r/T − δ_r/W
 * (orbitflow-method.md §5.1) is positive iff T exceeds this. A deposit of W tokens or more covers
 * the whole window, so such a request never violates within it.
 */
export function violationThresholdMs(sloTpotMs: number | undefined, depositTokens: number, windowSteps: number): number {
  if (sloTpotMs === undefined) return Infinity;
  if (depositTokens >= windowSteps) return Infinity;
  return (sloTpotMs * windowSteps) / (windowSteps - Math.max(0, depositTokens));
}

/**
 * The solvers' view of one batch. `sloMargin` ≥ 1 holds predicted step times to θ / margin: the
 * controller passes the high quantile of measured / predicted step time it has seen, so a plan
 * that only just meets θ on paper is not counted as meeting it.
 */
export function buildInstance(
  cost: CostModel,
  requests: readonly PlanRequest[],
  budgetBlocks: number,
  windowSteps: number,
  defaultSloTpotMs?: number,
  sloMargin = 1,
): Instance {
  const L = cost.layers;
  let totalCtx = 0;
  for (const r of requests) totalCtx += r.contextTokens;
  const reqs: InstanceRequest[] = requests.map((r) => {
    const slo = r.sloTpotMs ?? defaultSloTpotMs;
    const deposit = r.depositTokens ?? 0;
    return {
      id: r.id,
      contextTokens: r.contextTokens,
      growthBlocks: growthBlocks(r.contextTokens, windowSteps),
      copyMs: cost.requestLayerTransferMs(r.contextTokens),
      layerBytes: blocksPerLayer(r.contextTokens) * cost.blockBytes,
      sloTpotMs: slo,
      depositTokens: deposit,
      thetaMs: violationThresholdMs(slo, deposit, windowSteps) / sloMargin,
      noPause: Boolean(r.noPause),
    };
  });
  const options = placementOptions(L)
    .map((o) => {
      const ind = new Uint8Array(L);
      for (const l of o.placement.offloaded) ind[l] = 1;
      return { distance: o.distance, n: o.offloadedLayers, offloaded: o.placement.offloaded, ind };
    })
    .sort((a, b) => a.n - b.n);
  return {
    layers: L,
    tcMs: cost.layerComputeMs(requests.length, totalCtx),
    windowSteps,
    budgetBlocks,
    requests: reqs,
    options,
  };
}

export interface AssignmentValue {
  /** Closed-form step time T, ms. */
  stepMs: number;
  memoryBlocks: number;
  stagingBlocks: number;
  bytes: number;
  /** Layer j whose row T ≥ (L − j)·t_c + D_j attains T (−1: no stall, the compute floor binds). */
  worstLayer: number;
}

/** T, memory and bytes of an assignment (option index per request), by the closed-form kernel (src/cost/step-time.ts). */
export function evaluateAssignment(inst: Instance, assign: ArrayLike<number>): AssignmentValue {
  const L = inst.layers;
  const comm = new Float64Array(L);
  const stag = new Float64Array(L);
  let resident = 0;
  let bytes = 0;
  for (let r = 0; r < inst.requests.length; r++) {
    const q = inst.requests[r];
    const o = inst.options[assign[r]];
    resident += (L - o.n) * q.growthBlocks;
    bytes += o.n * q.layerBytes;
    for (const l of o.offloaded) {
      comm[l] += q.copyMs;
      stag[l] += q.growthBlocks;
    }
  }
  let staging = 0;
  for (let j = 0; j < L; j++) if (stag[j] > staging) staging = stag[j];
  const k = closedFormStep(comm, L, inst.tcMs);
  return { stepMs: k.stepMs, memoryBlocks: resident + staging, stagingBlocks: staging, bytes, worstLayer: k.worstLayer };
}

/** Lexicographic (T, bytes) comparison with a relative tolerance on T: < 0 when a is better. */
export function compareValues(a: { stepMs: number; bytes: number }, b: { stepMs: number; bytes: number }, relTol = 1e-9): number {
  const tol = relTol * Math.max(a.stepMs, b.stepMs, 1e-12);
  if (a.stepMs < b.stepMs - tol) return -1;
  if (a.stepMs > b.stepMs + tol) return 1;
  return a.bytes - b.bytes;
}
