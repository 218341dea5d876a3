import type { CostModel } from '../cost/cost-model.js';
import { OrbitflowError } from '../core/errors.js';
import type { BatchPlan, PlanBatch, PlanRequest, PausePolicy } from '../planner/types.js';
import type { DecisionResult, EngineView, PlacementDecision, PlacementDriver, PlacementSpec } from './types.js';

export interface MinimalReplannerOptions {
  /** The planner (`planBatch`), injected so tests can pass their own. */
  plan: PlanBatch;
  cost: CostModel;
  budgetBlocks: number;
  /** Default per-token SLO for requests without their own, ms. */
  sloTpotMs?: number;
  windowSteps?: number;
  timeLimitMs?: number;
  pausePolicy?: PausePolicy;
  seed?: number;
}

/**
 * The smallest loop that drives the planner (the `orbitflow` policy in virtual time), after the
 * artifact's scheduler (orbitflow-method.md §6): re-plan when the batch changes (admission, finish,
 * preemption; every paused request rejoins the candidates), when the memory forecast says the
 * active plan will not hold the next step's growth, or when the engine had to fall back to the
 * dynamic rule. The feedback controller (src/controller) replaces it behind the same interface.
 */
export class MinimalReplanner implements PlacementDriver {
  private lastVersion = -1;
  /** A plan the engine refused: do not retry the same trigger until the batch changes. */
  private refusedAtVersion = -1;
  private replans = 0;
  private solveMs = 0;
  private infeasible = 0;

  constructor(private readonly o: MinimalReplannerOptions) {}

  stats(): { replans: number; solveMs: number; infeasible: number } {
    return { replans: this.replans, solveMs: this.solveMs, infeasible: this.infeasible };
  }

  onDecisionResult(res: DecisionResult, view: EngineView): void {
    if (!res.ok) this.refusedAtVersion = view.membershipVersion;
  }

  async onStep(view: EngineView): Promise<PlacementDecision | null> {
    if (view.runningCount + view.pausedCount === 0) return null;
    let trigger: string | null = null;
    let withPaused = false;
    if (view.membershipVersion !== this.lastVersion) {
      trigger = 'batch-changed';
      withPaused = true;
    } else if (this.refusedAtVersion === view.membershipVersion) {
      return null;
    } else if (view.lastStepFellBack) {
      trigger = 'fallback';
    } else if (view.forecastGpuBlocks(1) > view.budgetBlocks) {
      trigger = 'memory-forecast';
    }
    if (trigger === null) return null;
    this.lastVersion = view.membershipVersion;

    const requests: PlanRequest[] = [];
    const paused = new Set<string>();
    view.forEachActive((r) => {
      if (r.paused) {
        paused.add(r.id);
        if (!withPaused) return;
      }
      requests.push({ id: r.id, contextTokens: r.contextTokens, sloTpotMs: r.sloTpotMs });
    });
    if (requests.length === 0) return null;
    let plan: BatchPlan;
    try {
      plan = await this.o.plan({
      cost: this.o.cost,
      budgetBlocks: this.o.budgetBlocks,
      requests,
      windowSteps: this.o.windowSteps,
      defaultSloTpotMs: this.o.sloTpotMs,
      timeLimitMs: this.o.timeLimitMs,
      pausePolicy: this.o.pausePolicy,
      seed: this.o.seed,
      });
    } catch (e) {
      // One request alone does not fit the planner's budget: keep the engine's own fallback
      // (dynamic rule, then preemption) until the batch changes.
      if (OrbitflowError.is(e) && e.code === 'OF_PLAN_INFEASIBLE') {
        this.refusedAtVersion = view.membershipVersion;
        this.infeasible++;
        return null;
      }
      throw e;
    }
    this.replans++;
    this.solveMs += plan.certificate.solveMs;
    const toPause = new Set(plan.paused);
    const placements: PlacementSpec[] = [];
    const pause: string[] = [];
    const resume: string[] = [];
    for (const p of plan.placements) {
      const isPaused = paused.has(p.id);
      if (toPause.has(p.id) || p.paused) {
        if (!isPaused) pause.push(p.id);
        continue;
      }
      if (isPaused) resume.push(p.id);
      placements.push({ id: p.id, distance: p.distance });
    }
    return {
      basedOnStep: view.step,
      placements,
      pause,
      resume,
      note: { trigger, solveMs: plan.certificate.solveMs, status: plan.certificate.status, predictedStepMs: plan.step.totalMs },
    };
  }
}
