import type { ActionRecord } from './types.js';
import type { ControllerSummary } from './controller.js';

/** An error distribution over requests or steps (relative error). */
export interface ErrorSpread {
  median: number;
  p95: number;
}

/** The controller's part of a replay result (`result.controller`): one shape for JSON, text and markdown. */
export type ControllerRunReport = ControllerOff | ControllerOn;

export interface ControllerOff {
  enabled: false;
  reason: string;
}

export interface ControllerOn {
  enabled: true;
  endpoint_budget_blocks: number;
  plans_applied: number;
  plans_rejected: number;
  requests_kept_for_reload: number;
  plans_infeasible: number;
  stale_rejections: number;
  /** A stalled control plane turns the controller off mid-run: why, and when (s after it started). */
  turned_off: { reason: string; after_s: number } | null;
  call_timeouts: number;
  call_errors: number;
  triggers: Record<string, number>;
  last_trigger: string | null;
  solve_ms: { p50: number; p99: number; max: number; count: number };
  median_step_ms: number;
  /** ≤ 1: the controller decided within one decode step of the batch it planned for. */
  solve_p99_over_median_step: number;
  admitted: number;
  refused: number;
  holds: number;
  hold_spent_fraction: number;
  paused_now: number;
  pauses_issued: number;
  resumes_issued: number;
  max_pause_ms: number;
  correction: { compute_scale: number; bandwidth_scale: number };
  calibration: {
    steps: number;
    step_error_before: ErrorSpread;
    step_error_after: ErrorSpread;
    mean_predicted_step_ms: number;
    mean_measured_step_ms: number;
    tpot_requests: number;
    tpot_error_before: ErrorSpread;
    tpot_error_after: ErrorSpread;
  };
  events_seen: number;
  actions: ControllerActionRow[];
}

export interface ControllerActionRow {
  seq: number;
  /** Seconds after the controller started (moments before the run's start): the HTML report's time axis. */
  solved_at_s: number;
  trigger: string;
  based_on_step: number;
  applied_at_step: number | null;
  solve_ms: number;
  status: string;
  predicted_step_ms: number;
  measured_step_ms: number | null;
  predicted_violations: number;
  paused: string[];
  resumed: string[];
  admitted: string[];
  refused: string[];
  changed_placements: number;
  rejected: string | null;
}

/** What the live loop saw on the wire, beside the controller's own summary. */
export interface ControlPlaneCounts {
  endpointBudgetBlocks: number;
  staleRejections: number;
  turnedOff: { reason: string; afterS: number } | null;
  callTimeouts: number;
  callErrors: number;
  eventsSeen: number;
  /** The controller's start on its clock (ms): actions are timed from it. */
  startedMs: number;
}

export function controllerOff(reason: string): ControllerOff {
  return { enabled: false, reason };
}

export function controllerRunReport(
  s: ControllerSummary,
  actions: readonly ActionRecord[],
  wire: ControlPlaneCounts,
  tpot: { requests: number; before: ErrorSpread; after: ErrorSpread },
): ControllerOn {
  return {
    enabled: true,
    endpoint_budget_blocks: wire.endpointBudgetBlocks,
    plans_applied: s.plansApplied,
    plans_rejected: s.plansRejected,
    requests_kept_for_reload: s.requestsKeptForReload,
    plans_infeasible: s.plansInfeasible,
    stale_rejections: wire.staleRejections,
    turned_off: wire.turnedOff === null ? null : { reason: wire.turnedOff.reason, after_s: wire.turnedOff.afterS },
    call_timeouts: wire.callTimeouts,
    call_errors: wire.callErrors,
    triggers: s.triggers,
    last_trigger: s.lastTrigger,
    solve_ms: s.solveMs,
    median_step_ms: s.medianStepMs,
    solve_p99_over_median_step: s.solveP99OverStep,
    admitted: s.admitted,
    refused: s.refused,
    holds: s.holds,
    hold_spent_fraction: s.holdSpentFraction,
    paused_now: s.pausedNow,
    pauses_issued: s.pausesIssued,
    resumes_issued: s.resumesIssued,
    max_pause_ms: s.maxPauseMs,
    correction: { compute_scale: s.correction.computeScale, bandwidth_scale: s.correction.bandwidthScale },
    calibration: {
      steps: s.calibration.steps,
      step_error_before: s.calibration.stepErrorBefore,
      step_error_after: s.calibration.stepErrorAfter,
      mean_predicted_step_ms: s.calibration.meanPredictedStepMs,
      mean_measured_step_ms: s.calibration.meanMeasuredStepMs,
      tpot_requests: tpot.requests,
      tpot_error_before: tpot.before,
      tpot_error_after: tpot.after,
    },
    events_seen: wire.eventsSeen,
    actions: actions.map((a) => ({
      seq: a.seq,
      solved_at_s: Math.round(a.solvedAtMs - wire.startedMs) / 1000,
      trigger: a.trigger,
      based_on_step: a.basedOnStep,
      applied_at_step: a.appliedAtStep,
      solve_ms: a.solveMs,
      status: a.status,
      predicted_step_ms: a.predictedStepMs,
      measured_step_ms: a.measuredStepMs,
      predicted_violations: a.predictedViolations,
      paused: a.paused,
      resumed: a.resumed,
      admitted: a.admitted,
      refused: a.refused,
      changed_placements: a.changedPlacements,
      rejected: a.rejectedReason ?? null,
    })),
  };
}
