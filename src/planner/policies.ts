import { NO_CLOCK } from '../core/solve-limit.js';
import { placementForDistance } from '../core/placement.js';
import { BASELINE_POLICIES, baselineDistance, isBaselinePolicy, type BaselinePolicy } from '../cost/baselines.js';
import { violationThresholdMs } from './instance.js';
import { planMemory } from './memory.js';
import { DEFAULT_WINDOW_STEPS, planBatch } from './plan-batch.js';
import type { BatchPlan, PlanInput } from './types.js';

/** Every policy `plan --policy` accepts, orbitflow first. */
export const PLAN_POLICIES = ['orbitflow', ...BASELINE_POLICIES] as const;
export type PlanPolicy = (typeof PLAN_POLICIES)[number];

export function isPlanPolicy(p: string): p is PlanPolicy {
  return (PLAN_POLICIES as readonly string[]).includes(p);
}

/**
 * A baseline policy on the same cost model and the same memory accounting as the planner: one
 * uniform distance for the whole batch (orbitflow-method.md §11), nothing paused. The result may be
 * over the budget (`overBudget`), which the planner's own plans never are. Its certificate has
 * status `rule`, and its bound is only the compute floor L·t_c (no optimisation is claimed).
 */
export function evaluateBaseline(policy: BaselinePolicy, input: PlanInput): BatchPlan {
  const t0 = (input.clockMs ?? NO_CLOCK)();
  const { cost } = input;
  const L = cost.layers;
  const windowSteps = input.windowSteps ?? DEFAULT_WINDOW_STEPS;
  const distance = baselineDistance(policy, { contextTokens: input.requests.map((r) => r.contextTokens), budgetBlocks: input.budgetBlocks }, cost);
  const placement = placementForDistance(L, distance);
  const items = input.requests.map((r) => ({ contextTokens: r.contextTokens, placement }));
  const step = cost.stepTime(items);
  const mem = planMemory(L, items, windowSteps);
  const placements = input.requests.map((r, i) => {
    const theta = violationThresholdMs(r.sloTpotMs ?? input.defaultSloTpotMs, r.depositTokens ?? 0, windowSteps);
    return {
      id: r.id,
      contextTokens: r.contextTokens,
      distance,
      offloaded: [...placement.offloaded],
      gpuBlocks: mem.perRequest[i],
      paused: false,
      violates: step.totalMs > theta * (1 + 1e-9),
      thetaMs: Number.isFinite(theta) ? theta : null,
    };
  });
  const floor = step.computeMs;
  return {
    policy,
    placements,
    paused: [],
    step,
    memoryBlocks: mem.totalBlocks,
    budgetBlocks: input.budgetBlocks,
    violations: placements.filter((p) => p.violates).length,
    certificate: {
      status: 'rule',
      objectiveMs: step.totalMs,
      bestBoundMs: floor,
      gap: step.totalMs > 0 ? (step.totalMs - floor) / step.totalMs : 0,
      solveMs: (input.clockMs ?? NO_CLOCK)() - t0,
      heuristicMs: 0,
      binding: mem.totalBlocks > input.budgetBlocks ? ['memory (over budget)'] : [],
      sloTier: null,
      glpkStatus: null,
    },
    stagingBlocks: mem.stagingBlocks,
    overBudget: mem.totalBlocks > input.budgetBlocks,
    windowSteps,
  };
}

/** Plan a batch with any policy: `orbitflow` runs the planner, a baseline name evaluates that rule. */
export async function planWithPolicy(policy: string, input: PlanInput): Promise<BatchPlan> {
  if (policy === 'orbitflow') return planBatch(input);
  if (isBaselinePolicy(policy)) return evaluateBaseline(policy, input);
  throw new RangeError(`unknown policy '${policy}' (expected one of ${PLAN_POLICIES.join(', ')})`);
}
