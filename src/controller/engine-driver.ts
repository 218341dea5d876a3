import type { DecisionResult, DriverStats, EngineView, PlacementDecision, PlacementDriver } from '../engine/types.js';
import type { Controller } from './controller.js';
import type { ActionRecord, ObservedRequest, WaitingObservation } from './types.js';

/**
 * Drives the controller from inside the reference engine in virtual time (`plan --trace`). The
 * solve runs on this thread, but its measured wall time is charged as latency: the plan is applied
 * at the first step boundary after (solve start + solve time) in engine time, as a solver running
 * one step ahead beside a real engine would deliver it.
 */
export class InProcessControllerDriver implements PlacementDriver {
  private readonly generated = new Map<string, number>();
  private readonly seenAt = new Map<string, number>();
  private epoch = 0;
  private lastObservedStep = -1;
  private pendingRecord: ActionRecord | null = null;
  private replans = 0;
  private solveMsTotal = 0;

  constructor(readonly controller: Controller) {}

  async onStep(view: EngineView): Promise<PlacementDecision | null> {
    // The cheap view, not snapshot(): a snapshot copies every waiting request, thousands of them
    // on an overloaded trace, and this runs before every step.
    const last = view.lastStep;
    // The plan solved at the previous boundary lands now, before this boundary's observation can start another.
    const ready = this.controller.takeReady(view.nowMs);
    const requests: ObservedRequest[] = [];
    const epoch = ++this.epoch;
    view.forEachActive((r) => {
      this.seenAt.set(r.id, epoch);
      const prev = this.generated.get(r.id) ?? 0;
      if (r.generatedTokens > prev) {
        this.controller.onTokens(r.id, Number.isNaN(r.lastTokenMs) ? view.nowMs : r.lastTokenMs, r.generatedTokens - prev);
        this.generated.set(r.id, r.generatedTokens);
      }
      requests.push({
        id: r.id,
        contextTokens: r.contextTokens,
        generatedTokens: r.generatedTokens,
        outputTokens: r.outputTokens,
        paused: r.paused,
        distance: r.distance,
        offloaded: r.offloaded,
        ...(Number.isNaN(r.firstTokenMs) ? {} : { firstTokenMs: r.firstTokenMs }),
      });
    });
    if (this.generated.size > requests.length) {
      for (const id of this.generated.keys()) {
        if (this.seenAt.get(id) !== epoch) {
          this.generated.delete(id);
          this.seenAt.delete(id);
          this.controller.onFinished(id);
        }
      }
    }
    if (last && last.step !== this.lastObservedStep && requests.length > 0) {
      this.lastObservedStep = last.step;
      const waiting: WaitingObservation[] = [];
      view.forEachWaiting(this.controller.waitingToObserve(view.maxNumSeqs), (w) => waiting.push({ id: w.id, prefillTokens: w.prefillTokens, outputTokens: w.outputTokens, arrivalMs: w.arrivalMs, sloTpotMs: w.sloTpotMs }));
      const trigger = this.controller.observe({
        step: view.step,
        kind: last.kind,
        nowMs: view.nowMs,
        stepMs: last.durationMs,
        requests,
        waiting,
        maxNumSeqs: view.maxNumSeqs,
        batchIds: last.batchIds,
        gpuBlocksTotal: view.budgetBlocks,
        gpuBlocksUsed: view.gpuUsed,
      });
      if (trigger) {
        await this.controller.idle();
        this.replans++;
      }
    }
    if (!ready) return null;
    this.pendingRecord = ready.record;
    this.solveMsTotal += ready.record.solveMs;
    return {
      basedOnStep: ready.action.basedOnStep,
      placements: ready.action.placements,
      pause: ready.action.pause,
      resume: ready.action.resume,
      admit: ready.action.admit,
      holdSteps: ready.action.holdSteps,
      reject: ready.action.reject,
      defer: ready.action.defer,
      note: { trigger: ready.record.trigger, solveMs: ready.record.solveMs, status: ready.record.status, predictedStepMs: ready.record.predictedStepMs },
    };
  }

  onDecisionResult(result: DecisionResult, view: EngineView): void {
    const rec = this.pendingRecord;
    this.pendingRecord = null;
    if (!rec) return;
    if (result.ok) this.controller.markApplied(rec, result.appliedAtStep, view.nowMs);
    else this.controller.markRejected(rec, `${result.code}: ${result.reason}`);
  }

  stats(): DriverStats {
    const s = this.controller.summary();
    return { replans: this.replans, solveMs: this.solveMsTotal, solveP99Ms: s.solveMs.p99, medianStepMs: s.medianStepMs, solveWallMs: s.solveWallMsTotal };
  }
}
