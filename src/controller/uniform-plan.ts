import { placementForDistance } from '../core/placement.js';
import { createRng } from '../core/rng.js';
import type { CostModel } from '../cost/cost-model.js';
import { violationThresholdMs } from '../planner/instance.js';
import { planMemory } from '../planner/memory.js';
import { distanceOptions } from '../planner/options.js';
import { pickVictim } from '../planner/pause.js';
import type { BatchPlan, PausePolicy, PlanRequest } from '../planner/types.js';

export interface UniformPlanInput {
  cost: CostModel;
  budgetBlocks: number;
  requests: readonly PlanRequest[];
  windowSteps: number;
  /** Pause victims (by policy) until one shared distance fits; false = return the smallest plan, over budget. */
  pause: boolean;
  pausePolicy: PausePolicy;
  seed: number;
}

interface Candidate {
  d: number;
  viol: number;
  ms: number;
  bytes: number;
  mem: ReturnType<typeof planMemory>;
  step: ReturnType<CostModel['stepTime']>;
}

/**
 * The ablation's "Uniform Distance" planner (the artifact's SolverV1_Uniform): one distance shared
 * by the whole batch, chosen from the same option set and scored in the same order as the ILP
 * (fewest violations, then lowest step time, then fewest bytes), on the same memory accounting.
 */
export function uniformPlan(input: UniformPlanInput): BatchPlan {
  const t0 = performance.now();
  const { cost, windowSteps } = input;
  const L = cost.layers;
  const rng = createRng(input.seed);
  let active = [...input.requests];
  const paused: PlanRequest[] = [];
  for (;;) {
    let best: Candidate | null = null;
    let smallest: Candidate | null = null;
    for (const d of distanceOptions(L)) {
      const placement = placementForDistance(L, d);
      const items = active.map((r) => ({ contextTokens: r.contextTokens, placement }));
      const mem = planMemory(L, items, windowSteps);
      const step = cost.stepTime(items);
      let viol = 0;
      for (const r of active) if (step.totalMs > violationThresholdMs(r.sloTpotMs, r.depositTokens ?? 0, windowSteps) * (1 + 1e-9)) viol++;
      const cand = { d, viol, ms: step.totalMs, bytes: step.bytesMoved, mem, step };
      if (!smallest || mem.totalBlocks < smallest.mem.totalBlocks) smallest = cand;
      if (mem.totalBlocks > input.budgetBlocks) continue;
      if (!best || cand.viol < best.viol || (cand.viol === best.viol && (cand.ms < best.ms * (1 - 1e-9) || (Math.abs(cand.ms - best.ms) <= best.ms * 1e-9 && cand.bytes < best.bytes)))) best = cand;
    }
    const pickable = active.filter((r) => !r.noPause);
    if (best || !input.pause || active.length <= 1 || pickable.length === 0) {
      const chosen = best ?? smallest!;
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
        violations: chosen.viol + paused.length,
        overBudget: best === null,
        stagingBlocks: chosen.mem.stagingBlocks,
        windowSteps,
        certificate: {
          status: 'rule',
          objectiveMs: chosen.step.totalMs,
          bestBoundMs: chosen.step.computeMs,
          gap: chosen.step.totalMs > 0 ? (chosen.step.totalMs - chosen.step.computeMs) / chosen.step.totalMs : 0,
          solveMs: performance.now() - t0,
          heuristicMs: 0,
          binding: best === null ? ['memory'] : [],
        },
      };
    }
    const v = pickVictim(input.pausePolicy, pickable.map((r) => ({ id: r.id, contextTokens: r.contextTokens, sloTpotMs: r.sloTpotMs })), rng);
    const victim = pickable[v];
    paused.push(victim);
    active = active.filter((r) => r !== victim);
  }
}
