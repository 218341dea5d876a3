/** The controller's part of a run result (`result.controller`), as written by the replay CLI. */
export interface ControllerReport {
  enabled: boolean;
  reason?: string;
  plans_applied?: number;
  plans_rejected?: number;
  requests_kept_for_reload?: number;
  plans_infeasible?: number;
  triggers?: Record<string, number>;
  last_trigger?: string | null;
  solve_ms?: { p50: number; p99: number; max: number; count: number };
  pauses_issued?: number;
  resumes_issued?: number;
  paused_now?: number;
  max_pause_ms?: number;
  correction?: { compute_scale: number; bandwidth_scale: number };
  calibration?: {
    steps: number;
    step_error_before: { median: number; p95: number };
    step_error_after: { median: number; p95: number };
    mean_predicted_step_ms: number;
    mean_measured_step_ms: number;
    tpot_requests?: number;
    tpot_error_before?: { median: number; p95: number };
    tpot_error_after?: { median: number; p95: number };
  };
  actions?: unknown[];
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Label/value rows for the text and markdown summaries. */
export function controllerRows(c: ControllerReport): [string, string][] {
  if (!c.enabled) return [['Controller', `off (${c.reason ?? 'not attached'})`]];
  const rows: [string, string][] = [];
  const triggers = Object.entries(c.triggers ?? {})
    .filter(([, n]) => n > 0)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  rows.push(['Plans applied / rejected', `${c.plans_applied ?? 0} / ${c.plans_rejected ?? 0}`]);
  rows.push(['Requests kept (reload not worth it)', String(c.requests_kept_for_reload ?? 0)]);
  rows.push(['Re-plan triggers', triggers || 'none']);
  if (c.last_trigger) rows.push(['Last trigger', c.last_trigger]);
  if (c.solve_ms) rows.push(['Solve ms p50 / p99 / max', `${c.solve_ms.p50.toFixed(2)} / ${c.solve_ms.p99.toFixed(2)} / ${c.solve_ms.max.toFixed(2)} (${c.solve_ms.count} solves)`]);
  rows.push(['Pauses / resumes (paused now)', `${c.pauses_issued ?? 0} / ${c.resumes_issued ?? 0} (${c.paused_now ?? 0}); longest pause ${(c.max_pause_ms ?? 0).toFixed(0)} ms`]);
  if (c.calibration && c.calibration.steps > 0) {
    const k = c.calibration;
    rows.push(['Step ms predicted vs measured', `${k.mean_predicted_step_ms.toFixed(2)} vs ${k.mean_measured_step_ms.toFixed(2)} (mean of ${k.steps} steps)`]);
    rows.push(['Step error, profile as is', `median ${pct(k.step_error_before.median)}, p95 ${pct(k.step_error_before.p95)}`]);
    rows.push(['Step error, with correction', `median ${pct(k.step_error_after.median)}, p95 ${pct(k.step_error_after.p95)}`]);
    if (k.tpot_requests && k.tpot_error_before && k.tpot_error_after) {
      rows.push(['TPOT error per request, profile as is', `median ${pct(k.tpot_error_before.median)}, p95 ${pct(k.tpot_error_before.p95)} (${k.tpot_requests} requests)`]);
      rows.push(['TPOT error per request, corrected', `median ${pct(k.tpot_error_after.median)}, p95 ${pct(k.tpot_error_after.p95)}`]);
    }
  }
  if (c.correction) rows.push(['Running correction', `compute × ${c.correction.compute_scale.toFixed(3)}, bandwidth × ${c.correction.bandwidth_scale.toFixed(3)}`]);
  return rows;
}
