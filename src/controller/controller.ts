import { placementForDistance, placementFromLayers, type Placement } from '../core/placement.js';
import { NO_CLOCK, type MonotonicMs } from '../core/solve-limit.js';
import { percentile } from '../core/stats.js';
import type { CostModel, StepRequest } from '../cost/cost-model.js';
import type { WindowPlan } from '../planner/window-plan.js';
import { DEFAULT_TIME_LIMIT_MS, DEFAULT_WINDOW_STEPS } from '../planner/plan-batch.js';
import { DepositTracker } from './deposit-tracker.js';
import { DEFAULT_DRIFT, DriftCorrector, type DriftOptions } from './drift-corrector.js';
import { GoodputMeter } from './goodput-meter.js';
import { HoldPacer } from './hold-pacer.js';
import { PrefillShare, StepMargin } from './step-margin.js';
import { modelledSolveMs, type SolverLatency } from './solve-latency.js';
import {
  TRIGGERS,
  type ActionRecord,
  type BatchSolver,
  type ControlAction,
  type ObservedRequest,
  type SolveRequest,
  type StepObservation,
  type Trigger,
} from './types.js';

export interface ControllerConfig {
  /** Builds the cost model with the running correction applied. */
  costFor(computeScale: number, bandwidthScale: number): CostModel;
  budgetBlocks: number;
  /** Decode window W, steps: the planner's growth headroom and deposit horizon. */
  windowSteps: number;
  /** Re-plan at the latest every this many steps (the window trigger); Infinity = never on time alone. */
  replanIntervalSteps: number;
  /** Fire the memory trigger when the current placements will not hold this many more steps of growth. */
  forecastSteps: number;
  /** TPOT SLO per request (ms/token); undefined = none. */
  sloFor(id: string): number | undefined;
  pausePolicy: string;
  /** Solver time limit, ms; the effective limit is also capped by solveBudgetFraction · last step time. */
  timeLimitMs: number;
  solveBudgetFraction: number;
  drift: DriftOptions;
  /** A request paused longer than this is never chosen as a victim again (no starvation). */
  maxPauseMs: number;
  seed: number;
  /** `ilp` (OrbitFlow) or `uniform` (one shared distance: the ablation's first rung). */
  mode: 'ilp' | 'uniform';
  /** Pause-Resume on. */
  pause: boolean;
  /** Pause also to cut predicted SLO violations (not only when memory runs out). */
  pauseForSlo: boolean;
  /** Feed the online Token-Deposit balance to the planner (off: every deposit is 0). */
  useDeposit: boolean;
  /**
   * Admission control: admit, hold ("not now") or refuse waiting requests (OrbitFlow); off leaves
   * admissions to the engine's own rule (the ablation's rungs below OrbitFlow).
   */
  admission: boolean;
  /** Holds may give up at most this fraction of the run's time (src/controller/hold-pacer.ts). */
  holdBudget: number;
  /** Waiting requests considered per decision. */
  admissionCandidates: number;
  /**
   * Requests beyond vLLM's capacity that yield tokens slower than the run wait until nothing else
   * runs or waits, and are served then if they finish within this fraction of the run's time
   * before the first of them (src/planner/window-plan.ts).
   */
  deferBudget: number;
  /** The engine's fixed per-step cost, ms (prefill groups pay it once). */
  stepOverheadMs: number;
  /** What a solve is charged in engine time before its plan can land (src/controller/solve-latency.ts). */
  solverLatency: SolverLatency;
  /** How the ILP's search is limited: wall-clock ms (live) or counted work (virtual time, reproducible). */
  solveLimit: 'wall' | 'work';
  /**
   * Credit at most this fraction of the window as deposit. The bank is unbounded, but a plan is
   * only revisited on a trigger: full credit (δ ≥ W makes a request look SLO-proof) lets a plan
   * that is slower than the SLO outlive the bank that justified it.
   */
  depositCap: number;
}

export const DEFAULT_CONTROLLER: Omit<ControllerConfig, 'costFor' | 'budgetBlocks' | 'sloFor'> = {
  windowSteps: DEFAULT_WINDOW_STEPS,
  replanIntervalSteps: 512,
  forecastSteps: 3,
  pausePolicy: 'longest',
  timeLimitMs: DEFAULT_TIME_LIMIT_MS,
  solveBudgetFraction: 1,
  drift: DEFAULT_DRIFT,
  maxPauseMs: 5_000,
  seed: 0,
  mode: 'ilp',
  pause: true,
  pauseForSlo: false,
  useDeposit: true,
  depositCap: 0.5,
  admission: true,
  holdBudget: 0.02,
  admissionCandidates: 16,
  deferBudget: 0.03,
  stepOverheadMs: 0.3,
  solverLatency: { mode: 'measured' },
  solveLimit: 'wall',
};

/** Steps a hold overlaps the plan its end triggers (trigger at the next boundary, plan lands at the one after). */
const HOLD_OVERLAP_STEPS = 2;

interface ReadyPlan {
  action: ControlAction;
  record: ActionRecord;
  readyAtMs: number;
}

export interface ControllerSummary {
  plansApplied: number;
  plansRejected: number;
  /** Solves whose best plan was over the budget (pausing off), so nothing was sent. */
  plansInfeasible: number;
  /** Requests the planner kept on their current placement because moving them did not pay for the reload. */
  requestsKeptForReload: number;
  triggers: Record<Trigger, number>;
  lastTrigger: Trigger | null;
  /** Solve latency charged before plans land (modelled, measured or fixed: `solverLatency`). */
  solveMs: { p50: number; p99: number; max: number; count: number };
  /** Median decode step, ms: a plan must be ready within one step of the batch it plans for. */
  medianStepMs: number;
  /** solve p99 / median step: ≤ 1 means the controller decides within a decode step. */
  solveP99OverStep: number;
  /** Wall-clock time this machine spent in solves (a measurement, not part of the result's determinism). */
  solveWallMsTotal: number;
  /** Solves where GLPK ran into its safety time limit under a work limit (0 in a reproducible run). */
  safetyLimitHits: number;
  pausedNow: number;
  pausesIssued: number;
  resumesIssued: number;
  maxPauseMs: number;
  admitted: number;
  refused: number;
  holds: number;
  /** Share of the run's time given up to holds (≤ the hold budget, unless no admission could wait). */
  holdSpentFraction: number;
  /** The SLO margin plans were last held to (measured / predicted step time, 90th percentile). */
  sloMargin: number;
  correction: { computeScale: number; bandwidthScale: number };
  calibration: CalibrationReport;
}

export interface CalibrationReport {
  steps: number;
  /** |measured − predicted| / measured, with the raw profile. */
  stepErrorBefore: { median: number; p95: number };
  /** The same with the controller's running correction. */
  stepErrorAfter: { median: number; p95: number };
  meanPredictedStepMs: number;
  meanMeasuredStepMs: number;
}

const distancePlacements = new Map<string, Placement>();

/** The placement of an observed request; distance placements are shared, not rebuilt every step. */
function placementOf(layers: number, r: ObservedRequest): Placement {
  if (r.distance === null) return placementFromLayers(layers, r.offloaded);
  const key = `${layers}:${r.distance}`;
  let p = distancePlacements.get(key);
  if (!p) {
    p = placementForDistance(layers, r.distance);
    distancePlacements.set(key, p);
  }
  return p;
}

function toStepRequests(cost: CostModel, reqs: readonly ObservedRequest[]): StepRequest[] {
  const out: StepRequest[] = [];
  for (const r of reqs) if (!r.paused) out.push({ contextTokens: r.contextTokens, placement: placementOf(cost.layers, r) });
  return out;
}

/**
 * The feedback controller. Fed one observation per engine step, it decides when the active plan
 * is stale (a named trigger), solves for the batch expected at the next step while the engine
 * keeps running, and hands back the newest finished plan. It knows nothing of HTTP or clocks:
 * adapters (in-process for virtual time, control protocol for a live engine) drive it.
 */
export class Controller {
  readonly deposits = new DepositTracker();
  readonly actions: ActionRecord[] = [];
  readonly triggers: Record<Trigger, number> = Object.fromEntries(TRIGGERS.map((t) => [t, 0])) as Record<Trigger, number>;
  private readonly drift: DriftCorrector;
  private readonly solveTimes: number[] = [];
  private readonly errBefore: number[] = [];
  private readonly errAfter: number[] = [];
  private predictedSum = 0;
  private measuredSum = 0;
  private cost: CostModel;
  private readonly baseCost: CostModel;
  private lastSignature = '';
  private stepsSincePlan = 0;
  private pending = false;
  private inFlight: Promise<void> = Promise.resolve();
  private ready: ReadyPlan | null = null;
  private active: ActionRecord | null = null;
  private forceTrigger: Trigger | null = null;
  private lastTrigger: Trigger | null = null;
  private readonly pausedSince = new Map<string, number>();
  private maxPausedMs = 0;
  private pausesIssued = 0;
  private resumesIssued = 0;
  private lastDecodeStepMs = 0;
  private lastObservedMs = 0;
  private solveWallMs = 0;
  private admittingNext = false;
  private safetyLimitHits = 0;
  private readonly stepTimes: number[] = [];
  private usedScales = { compute: 1, bandwidth: 1 };
  /** Σ predicted decode-step ms over the steps each request was in, raw and corrected. */
  private readonly perRequest = new Map<string, { before: number; after: number; steps: number }>();
  private infeasible = 0;
  private kept = 0;
  private readonly goodput = new GoodputMeter();
  private readonly pacer: HoldPacer;
  private readonly margin = new StepMargin();
  private readonly prefillShare = new PrefillShare();
  private lastHead: string | undefined;
  private holdUntilStep = -1;
  /** Requests waiting when the last plan was made, and those it deferred: a newcomer behind a deferred head is a reason to plan. */
  private lastWaitingCount = 0;
  private deferredIds: ReadonlySet<string> = new Set();
  /** Engine time the first request deferred to the end of the run was served (null: none yet). */
  private deferStartMs: number | null = null;
  private admittedTotal = 0;
  private refusedTotal = 0;
  private holdsTotal = 0;

  constructor(
    private readonly cfg: ControllerConfig,
    private readonly solver: BatchSolver,
    /** Wall clock for measuring solves (the CLI injects it; none: measured solves read 0 ms). */
    private readonly wallNow: MonotonicMs = NO_CLOCK,
  ) {
    this.drift = new DriftCorrector(cfg.drift);
    this.baseCost = cfg.costFor(1, 1);
    this.cost = this.baseCost;
    this.pacer = new HoldPacer(cfg.holdBudget);
  }

  /** Token times from the client (live) or the engine (virtual), for the online deposit. */
  onTokens(id: string, nowMs: number, tokens: number): void {
    const slo = this.cfg.sloFor(id);
    this.goodput.onTokens(id, nowMs, tokens, slo);
    if (slo === undefined) return;
    this.deposits.register(id, slo);
    this.deposits.onTokens(id, nowMs, tokens);
  }

  onFinished(id: string): void {
    this.deposits.forget(id);
    this.goodput.forget(id);
    this.pausedSince.delete(id);
  }

  /**
   * How many of the waiting queue's head an observation should carry: a batch's worth of
   * candidates, past the requests the last plan deferred (they wait at the head, and must not hide
   * those behind them).
   */
  waitingToObserve(maxNumSeqs: number): number {
    return maxNumSeqs + this.deferredIds.size;
  }

  /** Feed one engine step. Returns the trigger that started a solve, if one did. */
  observe(obs: StepObservation): Trigger | null {
    // A prefill step is no measure of a decode slot's worth or of the time a decision has.
    if (obs.kind === 'decode') this.lastDecodeStepMs = obs.stepMs;
    this.lastObservedMs = obs.nowMs;
    this.trackPauses(obs);
    this.prefillShare.observe(obs.kind, obs.stepMs);
    if (obs.kind === 'decode') this.stepTimes.push(obs.stepMs);
    if (obs.kind === 'decode') this.pacer.onStep(obs.nowMs, obs.stepMs, obs.batchIds?.length ?? obs.requests.length, obs.waiting?.length ?? 0);
    const trigger = this.feedback(obs) ?? this.checkTriggers(obs);
    this.stepsSincePlan++;
    const started = trigger !== null && !this.pending;
    if (started) this.startSolve(obs, trigger);
    this.admittingNext = false;
    return started ? trigger : null;
  }

  private trackPauses(obs: StepObservation): void {
    for (const r of obs.requests) {
      if (r.paused) {
        const since = this.pausedSince.get(r.id);
        if (since === undefined) this.pausedSince.set(r.id, obs.nowMs);
        else this.maxPausedMs = Math.max(this.maxPausedMs, obs.nowMs - since);
      } else {
        this.pausedSince.delete(r.id);
      }
    }
  }

  /** Compare the step with the model's prediction; update the correction; maybe fire `drift`. */
  private feedback(obs: StepObservation): Trigger | null {
    if (obs.kind !== 'decode') return null;
    const reqs = toStepRequests(this.baseCost, obs.requests);
    if (reqs.length === 0 || obs.stepMs <= 0) return null;
    const base = this.baseCost.stepTime(reqs);
    const corrected = this.cost === this.baseCost ? base : this.cost.stepTime(reqs);
    this.margin.observe(obs.stepMs, corrected.totalMs);
    this.errBefore.push(Math.abs(obs.stepMs - base.totalMs) / obs.stepMs);
    this.errAfter.push(Math.abs(obs.stepMs - corrected.totalMs) / obs.stepMs);
    this.predictedSum += corrected.totalMs;
    this.measuredSum += obs.stepMs;
    for (const r of obs.requests) {
      if (r.paused) continue;
      const acc = this.perRequest.get(r.id) ?? { before: 0, after: 0, steps: 0 };
      acc.before += base.totalMs;
      acc.after += corrected.totalMs;
      acc.steps++;
      this.perRequest.set(r.id, acc);
    }
    if (this.active) {
      const a = this.active;
      a.measuredStepMs = ((a.measuredStepMs ?? 0) * a.measuredSteps + obs.stepMs) / (a.measuredSteps + 1);
      a.measuredSteps++;
    }
    const drifted = this.drift.observe(
      {
        predictedComputeMs: base.computeMs,
        predictedTransferMs: base.transferMs,
        predictedTotalMs: base.totalMs,
        measuredComputeMs: obs.computeMs,
        measuredTransferMs: obs.transferMs,
        measuredTotalMs: obs.stepMs,
      },
      corrected.totalMs,
    );
    // Follow the running correction (a rebuilt model is cheap); only drift beyond tolerance re-plans.
    const used = this.usedScales;
    if (Math.abs(this.drift.computeScale - used.compute) > 0.005 || Math.abs(this.drift.bandwidthScale - used.bandwidth) > 0.005) {
      this.cost = this.cfg.costFor(this.drift.computeScale, this.drift.bandwidthScale);
      this.usedScales = { compute: this.drift.computeScale, bandwidth: this.drift.bandwidthScale };
    }
    return drifted ? 'drift' : null;
  }

  private checkTriggers(obs: StepObservation): Trigger | null {
    if (this.forceTrigger) {
      const t = this.forceTrigger;
      this.forceTrigger = null;
      return t;
    }
    const sig = signature(obs.requests);
    if (sig !== this.lastSignature) return 'batch-changed';
    if (this.forecastBlocks(obs.requests, this.cfg.forecastSteps) > this.cfg.budgetBlocks) return 'memory-forecast';
    if (this.admissionDue(obs)) return 'admission';
    if (this.stepsSincePlan >= this.cfg.replanIntervalSteps) return 'window';
    return null;
  }

  /** Someone new heads the queue, or the last hold ran out, while the engine could take one more. */
  private admissionDue(obs: StepObservation): boolean {
    if (!this.cfg.admission || obs.maxNumSeqs === undefined || !obs.waiting || obs.waiting.length === 0) return false;
    if (obs.requests.length >= obs.maxNumSeqs) return false;
    const head = obs.waiting[0].id;
    return head !== this.lastHead || (this.deferredIds.has(head) && obs.waiting.length > this.lastWaitingCount) || obs.step >= this.holdUntilStep;
  }

  /** GPU blocks the current placements need after `steps` more steps of growth. */
  private forecastBlocks(reqs: readonly ObservedRequest[], steps: number): number {
    let blocks = 0;
    for (const r of reqs) {
      if (r.paused) continue;
      blocks += this.cost.gpuBlocks(r.contextTokens, placementOf(this.cost.layers, r), steps);
    }
    return blocks;
  }

  private startSolve(obs: StepObservation, trigger: Trigger): void {
    this.triggers[trigger]++;
    this.lastTrigger = trigger;
    this.lastSignature = signature(obs.requests);
    this.stepsSincePlan = 0;
    this.pending = true;
    const noPause: string[] = [];
    for (const [id, since] of this.pausedSince) if (obs.nowMs - since >= this.cfg.maxPauseMs) noPause.push(id);
    // One step ahead: plan for the batch as it will be when the plan lands, after the next decode
    // step: one token longer, and without the requests that step finishes.
    // When the plan just handed out admits someone, the next step is their prefill: nobody finishes.
    const decodeNext = !this.admittingNext;
    const landing = obs.requests.filter((r) => !decodeNext || r.paused || r.outputTokens === undefined || r.outputTokens - r.generatedTokens > 1);
    const admission = this.cfg.admission && obs.maxNumSeqs !== undefined && obs.waiting !== undefined;
    // Every waiting request: deferred ones (window-plan.ts) must not hide those behind them.
    const waiting = admission ? obs.waiting! : [];
    this.lastHead = waiting[0]?.id;
    this.lastWaitingCount = waiting.length;
    const batch = Math.max(1, obs.batchIds?.length ?? landing.length);
    const request: SolveRequest = {
      requests: landing.map((r) => ({
        id: r.id,
        contextTokens: r.contextTokens + (r.paused ? 0 : 1),
        paused: r.paused,
        ...(r.distance !== null && !r.paused ? { currentDistance: r.distance } : {}),
        ...(r.outputTokens !== undefined ? { remainingSteps: Math.max(1, r.outputTokens - r.generatedTokens - 1), outputTokens: r.outputTokens } : {}),
        generatedTokens: r.generatedTokens + (r.paused ? 0 : 1),
        decodeElapsedMs: r.firstTokenMs === undefined ? 0 : obs.nowMs + obs.stepMs - r.firstTokenMs,
        sloTpotMs: this.cfg.sloFor(r.id),
        depositTokens: this.cfg.useDeposit ? Math.min(this.deposits.balance(r.id, obs.nowMs), this.cfg.depositCap * this.cfg.windowSteps) : 0,
      })),
      waiting: waiting.map((w) => ({ id: w.id, prefillTokens: w.prefillTokens, outputTokens: w.outputTokens, waitedMs: obs.nowMs - w.arrivalMs, sloTpotMs: w.sloTpotMs ?? this.cfg.sloFor(w.id) })),
      freeSeqs: admission ? obs.maxNumSeqs! - landing.length : 0,
      admission: admission
        ? {
            holdCost: this.pacer.price(this.goodput.ratePerMs(obs.nowMs), this.lastDecodeStepMs, batch, obs.nowMs),
            prefillOverheadMs: this.cfg.stepOverheadMs,
            maxCandidates: this.cfg.admissionCandidates,
            outputRatePerMs: this.goodput.outputRatePerMs(obs.nowMs),
            prefillShare: this.prefillShare.value,
            nowMs: obs.nowMs,
            deferDeadlineMs: (1 + this.cfg.deferBudget) * (this.deferStartMs ?? obs.nowMs),
            draining: this.deferStartMs !== null,
          }
        : null,
      sloMargin: this.margin.value,
      budgetBlocks: this.cfg.budgetBlocks,
      windowSteps: this.cfg.windowSteps,
      timeLimitMs: this.cfg.timeLimitMs === 0 ? 0 : Math.max(1, Math.min(this.cfg.timeLimitMs, this.cfg.solveBudgetFraction * (this.lastDecodeStepMs || this.cfg.timeLimitMs))),
      pausePolicy: this.cfg.pausePolicy,
      computeScale: this.drift.computeScale,
      bandwidthScale: this.drift.bandwidthScale,
      seed: this.cfg.seed + this.actions.length,
      noPause,
      mode: this.cfg.mode,
      solveLimit: this.cfg.solveLimit,
      pause: this.cfg.pause,
      pauseForSlo: this.cfg.pauseForSlo,
    };
    const wall0 = this.wallNow();
    const wasPaused = new Set(obs.requests.filter((r) => r.paused).map((r) => r.id));
    const current = new Map(obs.requests.map((r) => [r.id, r.distance]));
    this.inFlight = this.solver.solve(request).then(
      (window) => {
        const wallMs = this.wallNow() - wall0;
        this.solveWallMs += wallMs;
        const lat = this.cfg.solverLatency;
        const solveMs = lat.mode === 'measured' ? wallMs : lat.mode === 'fixed' ? lat.ms : modelledSolveMs(window.work);
        if (window.hitSafetyLimit) this.safetyLimitHits++;
        this.solveTimes.push(solveMs);
        this.pending = false;
        const plan = window.plan;
        this.holdUntilStep = obs.step + window.holdSteps;
        if (window.servesDeferred) this.deferStartMs ??= obs.nowMs;
        this.deferredIds = new Set(window.deferred);
        this.pacer.holding(window.verdict?.held ?? 0);
        if (plan.overBudget) {
          // Nothing fits and pausing is off: leave the engine to its own out-of-memory fallback.
          this.infeasible++;
          return;
        }
        this.kept += plan.certificate.keptForReload ?? 0;
        this.ready = { ...this.toAction(window, obs, trigger, solveMs, wasPaused, current), readyAtMs: obs.nowMs + solveMs };
      },
      () => {
        this.pending = false;
        this.forceTrigger = 'rejected';
      },
    );
  }

  private toAction(
    window: WindowPlan,
    obs: StepObservation,
    trigger: Trigger,
    solveMs: number,
    wasPaused: ReadonlySet<string>,
    current: ReadonlyMap<string, number | null>,
  ): { action: ControlAction; record: ActionRecord } {
    const plan = window.plan;
    const pausedNow = new Set(plan.paused);
    const pause = plan.paused.filter((id) => !wasPaused.has(id));
    const resume = [...wasPaused].filter((id) => !pausedNow.has(id));
    const admitted = new Set(window.admit.map((a) => a.id));
    const placements = plan.placements.filter((p) => !p.paused && current.has(p.id) && !admitted.has(p.id)).map((p) => ({ id: p.id, distance: p.distance }));
    const changed = placements.filter((p) => current.get(p.id) !== p.distance).length;
    const record: ActionRecord = {
      seq: this.actions.length,
      trigger,
      basedOnStep: obs.step,
      appliedAtStep: null,
      solvedAtMs: obs.nowMs,
      appliedAtMs: null,
      solveMs,
      status: plan.certificate.status,
      predictedStepMs: plan.step.totalMs,
      predictedViolations: plan.violations,
      paused: pause,
      resumed: resume,
      admitted: window.admit.map((a) => a.id),
      refused: [...window.reject],
      admission: window.verdict,
      changedPlacements: changed,
      measuredStepMs: null,
      measuredSteps: 0,
    };
    this.actions.push(record);
    // A hold must outlast the re-plan its end triggers: that plan lands a step or two later.
    const holdSteps = window.holdSteps > 0 ? window.holdSteps + HOLD_OVERLAP_STEPS : 0;
    return { action: { basedOnStep: obs.step, placements, pause, resume, admit: window.admit, holdSteps, reject: window.reject, defer: window.deferred }, record };
  }

  /** The newest finished plan if it is ready by `nowMs` (consumed), else null. */
  takeReady(nowMs: number): { action: ControlAction; record: ActionRecord } | null {
    if (!this.ready || this.ready.readyAtMs > nowMs) return null;
    const r = this.ready;
    this.ready = null;
    this.admittingNext = r.action.admit.length > 0;
    return r;
  }

  /** Resolves once the solve in flight (if any) has finished. */
  idle(): Promise<void> {
    return this.inFlight;
  }

  get solving(): boolean {
    return this.pending;
  }

  markApplied(record: ActionRecord, step: number, nowMs: number): void {
    record.appliedAtStep = step;
    record.appliedAtMs = nowMs;
    this.active = record;
    this.pausesIssued += record.paused.length;
    this.resumesIssued += record.resumed.length;
    this.admittedTotal += record.admitted.length;
    this.refusedTotal += record.refused.length;
    if (record.admission?.action === 'hold') this.holdsTotal++;
  }

  markRejected(record: ActionRecord, reason: string): void {
    record.rejectedReason = reason;
    this.forceTrigger = 'rejected';
  }

  /** A request's predicted TPOT (mean predicted step time over the steps it decoded in), raw and corrected. */
  predictedTpot(id: string): { beforeMs: number; afterMs: number; steps: number } | null {
    const a = this.perRequest.get(id);
    return a && a.steps > 0 ? { beforeMs: a.before / a.steps, afterMs: a.after / a.steps, steps: a.steps } : null;
  }

  /** Current prediction of the running correction, for the live view. */
  get correction(): { computeScale: number; bandwidthScale: number } {
    return { computeScale: this.drift.computeScale, bandwidthScale: this.drift.bandwidthScale };
  }

  summary(pausedNow = this.pausedSince.size): ControllerSummary {
    const stats = (xs: number[]) => ({ median: percentile(xs, 50), p95: percentile(xs, 95) });
    return {
      plansApplied: this.actions.filter((a) => a.appliedAtStep !== null).length,
      plansRejected: this.actions.filter((a) => a.rejectedReason !== undefined).length,
      plansInfeasible: this.infeasible,
      requestsKeptForReload: this.kept,
      triggers: { ...this.triggers },
      lastTrigger: this.lastTrigger,
      medianStepMs: percentile(this.stepTimes, 50),
      solveP99OverStep: this.stepTimes.length > 0 && percentile(this.stepTimes, 50) > 0 ? percentile(this.solveTimes, 99) / percentile(this.stepTimes, 50) : 0,
      solveWallMsTotal: this.solveWallMs,
      safetyLimitHits: this.safetyLimitHits,
      solveMs: {
        p50: percentile(this.solveTimes, 50),
        p99: percentile(this.solveTimes, 99),
        max: this.solveTimes.length ? Math.max(...this.solveTimes) : 0,
        count: this.solveTimes.length,
      },
      pausedNow,
      pausesIssued: this.pausesIssued,
      resumesIssued: this.resumesIssued,
      maxPauseMs: this.maxPausedMs,
      admitted: this.admittedTotal,
      refused: this.refusedTotal,
      holds: this.holdsTotal,
      holdSpentFraction: this.pacer.spentFraction(this.lastObservedMs),
      sloMargin: this.margin.value,
      correction: this.correction,
      calibration: {
        steps: this.errBefore.length,
        stepErrorBefore: stats(this.errBefore),
        stepErrorAfter: stats(this.errAfter),
        meanPredictedStepMs: this.errBefore.length ? this.predictedSum / this.errBefore.length : 0,
        meanMeasuredStepMs: this.errBefore.length ? this.measuredSum / this.errBefore.length : 0,
      },
    };
  }
}

/** Running ∪ paused ids (as the artifact's batch signature): a pause or resume alone does not change it. */
function signature(reqs: readonly ObservedRequest[]): string {
  return reqs
    .map((r) => r.id)
    .sort()
    .join(',');
}
