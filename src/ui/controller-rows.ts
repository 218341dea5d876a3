import type { ControllerRunReport } from '../controller/run-report.js';

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Label/value rows for the text and markdown summaries. */
export function controllerRows(c: ControllerRunReport): [string, string][] {
  if (!c.enabled) return [['Controller', `off (${c.reason})`]];
  const rows: [string, string][] = [];
  const triggers = Object.entries(c.triggers)
    .filter(([, n]) => n > 0)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  if (c.turned_off) rows.push(['Turned off mid-run', `after ${c.turned_off.after_s.toFixed(1)} s: ${c.turned_off.reason}`]);
  if (c.call_timeouts + c.call_errors > 0) rows.push(['Control calls timed out / failed', `${c.call_timeouts} / ${c.call_errors}`]);
  rows.push(['Plans applied / rejected', `${c.plans_applied} / ${c.plans_rejected}`]);
  rows.push(['Requests kept (reload not worth it)', String(c.requests_kept_for_reload)]);
  rows.push(['Re-plan triggers', triggers || 'none']);
  if (c.last_trigger) rows.push(['Last trigger', c.last_trigger]);
  const s = c.solve_ms;
  if (s.count > 0) rows.push(['Solve ms p50 / p99 / max', `${s.p50.toFixed(2)} / ${s.p99.toFixed(2)} / ${s.max.toFixed(2)} (${s.count} solves)`]);
  if (c.median_step_ms > 0) rows.push(['Solve p99 / median step', `${c.solve_p99_over_median_step.toFixed(2)} (median step ${c.median_step_ms.toFixed(2)} ms; ≤ 1: decided within a step)`]);
  if (c.admitted + c.refused + c.holds > 0) rows.push(['Admitted / refused / holds', `${c.admitted} / ${c.refused} / ${c.holds} (${pct(c.hold_spent_fraction)} of the run held)`]);
  rows.push(['Pauses / resumes (paused now)', `${c.pauses_issued} / ${c.resumes_issued} (${c.paused_now}); longest pause ${c.max_pause_ms.toFixed(0)} ms`]);
  if (c.calibration.steps > 0) {
    const k = c.calibration;
    rows.push(['Step ms predicted vs measured', `${k.mean_predicted_step_ms.toFixed(2)} vs ${k.mean_measured_step_ms.toFixed(2)} (mean of ${k.steps} steps)`]);
    rows.push(['Step error, profile as is', `median ${pct(k.step_error_before.median)}, p95 ${pct(k.step_error_before.p95)}`]);
    rows.push(['Step error, with correction', `median ${pct(k.step_error_after.median)}, p95 ${pct(k.step_error_after.p95)}`]);
    if (k.tpot_requests > 0) {
      rows.push(['TPOT error per request, profile as is', `median ${pct(k.tpot_error_before.median)}, p95 ${pct(k.tpot_error_before.p95)} (${k.tpot_requests} requests)`]);
      rows.push(['TPOT error per request, corrected', `median ${pct(k.tpot_error_after.median)}, p95 ${pct(k.tpot_error_after.p95)}`]);
    }
  }
  rows.push(['Running correction', `compute × ${c.correction.compute_scale.toFixed(3)}, bandwidth × ${c.correction.bandwidth_scale.toFixed(3)}`]);
  return rows;
}
