import { NO_CLOCK, type MonotonicMs } from '../core/solve-limit.js';
import { placementForDistance } from '../core/placement.js';
import { createRng } from '../core/rng.js';
import type { CostModel } from '../cost/cost-model.js';
import { violationThresholdMs } from './instance.js';
import { planMemory } from './memory.js';
import { distanceOptions } from './options.js';
import { pickVictim } from './pause.js';
import type { BatchPlan, PausePolicy, PlanRequest } from './types.js';
import { emptyWork, pausedViolates } from './plan-batch.js';

export interface UniformPlanInput {
  cost: CostModel;
  budgetBlocks: number;
  requests: readonly PlanRequest[];
  windowSteps: number;
  /** Pause-Resume: pause victims (by policy) until one shared distance fits, then while that lowers violations; false = never pause (the smallest plan, over budget when nothing fits). */
  pause: boolean;
  pausePolicy: PausePolicy;
  seed: number;
  clockMs?: MonotonicMs;
}

interface Candidate {
  d: number;
  viol: number;
  /** Step time plus amortised reloads, ms: what candidates are ranked by. */
  ms: number;
  bytes: number;
  mem: ReturnType<typeof planMemory>;
  step: ReturnType<CostModel['stepTime']>;
  fits: boolean;
}

/**
 * The ablation's "Uniform Distance" planner (the artifact's SolverV1_Uniform): one distance shared
 * by the whole batch, chosen from the same option set and scored in the same order as the ILP
 * (fewest violations, then lowest step time, then fewest bytes), on the same memory accounting.
 */
export function uniformPlan(input: UniformPlanInput): BatchPlan {
  const t0 = (input.clockMs ?? NO_CLOCK)();
  const { cost, windowSteps } = input;
  const L = cost.layers;
  const rng = createRng(input.seed);
  let active = [...input.requests];
  const paused: PlanRequest[] = [];
  const pauseOne = (): boolean => {
    const pickable = active.filter((r) => !r.noPause);
    if (active.length <= 1 || pickable.length === 0) return false;
    const v = pickable[pickVictim(input.pausePolicy, pickable.map((r) => ({ id: r.id, contextTokens: r.contextTokens, sloTpotMs: r.sloTpotMs })), rng)];
    paused.push(v);
    active = active.filter((r) => r !== v);
    return true;
  };
  // Pause for memory until one shared distance fits (all-offloaded still needs its staging layer).
  let best = bestUniform(cost, active, input.budgetBlocks, windowSteps);
  while (!best.fits && input.pause && pauseOne()) best = bestUniform(cost, active, input.budgetBlocks, windowSteps);
  // Then, as the planner does, pause while that strictly lowers the violations (a paused request
  // counts as one unless its deposit covers the window).
  const score = (c: Candidate): number => c.viol + paused.filter((p) => pausedViolates(p, p.sloTpotMs, c.step.totalMs, windowSteps)).length;
  if (input.pause && best.fits) {
    let current = score(best);
    while (current > 0) {
      const before = { active, pausedLen: paused.length };
      if (!pauseOne()) break;
      const trial = bestUniform(cost, active, input.budgetBlocks, windowSteps);
      if (trial.fits && score(trial) < current) {
        best = trial;
        current = score(trial);
      } else {
        active = before.active;
        paused.length = before.pausedLen;
        break;
      }
    }
  }
  const chosen = best;
  const placement = placementForDistance(L, chosen.d);
  return {
    policy: 'orbitflow-uniform',
    placements: [
      ...active.map((r, i) => ({
        id: r.id,
        contextTokens: r.contextTokens,
        distance: chosen.d,
        offloaded: [...placement.offloaded],
        gpuBlocks: chosen.mem.perRequest[i],
        paused: false,
        violates: chosen.step.totalMs > violationThresholdMs(r.sloTpotMs, r.depositTokens ?? 0, windowSteps) * (1 + 1e-9),
      })),
      ...paused.map((r) => ({ id: r.id, contextTokens: r.contextTokens, distance: chosen.d, offloaded: [], gpuBlocks: 0, paused: true, violates: true })),
    ],
    paused: paused.map((r) => r.id),
    step: chosen.step,
    memoryBlocks: chosen.mem.totalBlocks,
    budgetBlocks: input.budgetBlocks,
    violations: score(chosen),
    overBudget: !chosen.fits,
    stagingBlocks: chosen.mem.stagingBlocks,
    windowSteps,
    certificate: {
      status: 'rule',
      objectiveMs: chosen.step.totalMs,
      bestBoundMs: chosen.step.computeMs,
      gap: chosen.step.totalMs > 0 ? (chosen.step.totalMs - chosen.step.computeMs) / chosen.step.totalMs : 0,
      solveMs: (input.clockMs ?? NO_CLOCK)() - t0,
      heuristicMs: 0,
      binding: chosen.fits ? [] : ['memory'],
      // One step-time evaluation per shared distance tried, per pause trial.
      work: { ...emptyWork(), heuristicRuns: 1, requestLayers: input.requests.length * L * distanceOptions(L).length },
    },
  };
}

/**
 * The best shared distance for `active` in the planner's order (fewest violations, lowest T,
 * fewest bytes) among those that fit; when none fits, the smallest one, marked `fits: false`.
 */
function bestUniform(cost: CostModel, active: readonly PlanRequest[], budgetBlocks: number, windowSteps: number): Candidate {
  const L = cost.layers;
  let best: Candidate | null = null;
  let smallest: Candidate | null = null;
  for (const d of distanceOptions(L)) {
    const placement = placementForDistance(L, d);
    const items = active.map((r) => ({ contextTokens: r.contextTokens, placement }));
    const mem = planMemory(L, items, windowSteps);
    const step = cost.stepTime(items);
    let viol = 0;
    let reloadMs = 0;
    const now = new Set(placement.offloaded);
    for (const r of active) {
      if (step.totalMs > violationThresholdMs(r.sloTpotMs, r.depositTokens ?? 0, windowSteps) * (1 + 1e-9)) viol++;
      if (r.currentDistance === undefined) continue;
      let reloaded = 0;
      for (const l of placementForDistance(L, r.currentDistance).offloaded) if (!now.has(l)) reloaded++;
      reloadMs += (reloaded * cost.requestLayerTransferMs(r.contextTokens)) / Math.max(1, r.remainingSteps ?? windowSteps);
    }
    // Ranked like the planner's re-plans: step time plus the reloads amortised over each request's remaining steps.
    const cand: Candidate = { d, viol, ms: step.totalMs + reloadMs, bytes: step.bytesMoved, mem, step, fits: mem.totalBlocks <= budgetBlocks };
    if (!smallest || mem.totalBlocks < smallest.mem.totalBlocks) smallest = { ...cand };
    if (!cand.fits) continue;
    if (!best || cand.viol < best.viol || (cand.viol === best.viol && (cand.ms < best.ms * (1 - 1e-9) || (Math.abs(cand.ms - best.ms) <= best.ms * 1e-9 && cand.bytes < best.bytes)))) best = cand;
  }
  return best ?? smallest!;
}
