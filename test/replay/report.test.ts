import { test } from 'node:test';
import type { ControllerOn, ControllerRunReport } from '../../src/controller/run-report.js';
import assert from 'node:assert/strict';
import { LiveStats } from '../../src/replay/live-stats.js';
import { requestLine } from '../../src/replay/outputs.js';
import { buildRunResult, type RunMetadata } from '../../src/replay/run-result.js';
import { formatProgressLine, sparkline } from '../../src/ui/progress-line.js';
import { formatRunSummary, runSummaryMarkdown } from '../../src/ui/run-summary.js';
import { failedRecord, okRecord } from './records.js';

const metadata = {
  command: ['orbitflow', 'replay', 't.jsonl'],
  orbitflow_version: '0.1.0',
  node_version: 'v20',
  trace: { file: 't.jsonl', sha256: 'ab', format: 'mooncake', requests: 3 },
  seeds: { trace: 0, prompt: 0 },
  endpoint: 'http://127.0.0.1:1',
  api: 'completions',
  prompt: 'token-ids',
  model_name: 'm',
  max_concurrency: null,
  request_timeout_s: 600,
  percentiles: [50, 99],
  slo: { ttftMs: 150 },
  goodput: null,
  deposit: false,
  start_time: '2026-01-01T00:00:00.000Z',
} as RunMetadata;

function controllerOn(): ControllerOn {
  const spread = { median: 0.05, p95: 0.1 };
  return {
    enabled: true, endpoint_budget_blocks: 1000, plans_applied: 3, plans_rejected: 0, requests_kept_for_reload: 1, plans_infeasible: 0,
    stale_rejections: 0, turned_off: null, call_timeouts: 0, call_errors: 0, triggers: { 'batch-changed': 2, drift: 1, window: 0 },
    last_trigger: 'drift', solve_ms: { p50: 4, p99: 10, max: 12, count: 3 }, median_step_ms: 25, solve_p99_over_median_step: 0.4,
    admitted: 7, refused: 1, holds: 2, hold_spent_fraction: 0.015, paused_now: 0, pauses_issued: 0, resumes_issued: 0, max_pause_ms: 0,
    correction: { compute_scale: 1, bandwidth_scale: 1 },
    calibration: { steps: 0, step_error_before: spread, step_error_after: spread, mean_predicted_step_ms: 0, mean_measured_step_ms: 0, tpot_requests: 0, tpot_error_before: spread, tpot_error_after: spread },
    events_seen: 0, actions: [],
  };
}

function result(controller?: ControllerRunReport) {
  const recs = [okRecord(0, 0, [100, 150, 210, 300], { usage: 4 }), okRecord(1, 50, [200, 260], { tokens: [1, 4] }), failedRecord(2, 70, 'http_5xx')];
  recs[2].errorDetail = 'HTTP 500: engine error';
  return buildRunResult(recs, { durationS: 1, percentiles: [50, 99], slo: { ttftMs: 150 }, deposit: false, maxErrorRate: 0.05, maxScheduleLagMs: 10, interrupted: false, metadata, controller });
}

test('run result: vLLM keys first, then orbitflow keys; degraded by error rate; controller slot null', () => {
  const r = result();
  const keys = Object.keys(r);
  assert.equal(keys[0], 'schema');
  assert.deepEqual(keys.slice(1, 10), ['duration', 'completed', 'failed', 'total_input_tokens', 'total_output_tokens', 'request_throughput', 'request_goodput', 'output_throughput', 'total_token_throughput']);
  assert.ok(keys.indexOf('p99_e2el_ms') < keys.indexOf('slo_attainment'));
  assert.equal(r.controller, null);
  assert.equal(r.error_rate, 1 / 3);
  assert.equal(r.degraded, true);
  assert.equal(r.error_summary.by_cause.http_5xx, 1);
  assert.equal(r.error_summary.examples[0].detail, 'HTTP 500: engine error');
  assert.equal(r.slo_attainment?.ttft, 1 / 3);
  assert.ok('controller' in JSON.parse(JSON.stringify(r)));
});

test('text and markdown summaries come from the same report; the controller section appears when set', () => {
  const text = formatRunSummary(result());
  assert.match(text, /Successful requests:\s+2/);
  assert.match(text, /Failed requests:\s+1/);
  assert.match(text, /P99 TTFT \(ms\):\s+199\.00/);
  assert.match(text, /Tokens per SSE message:\s+1\.50/);
  assert.match(text, /TTFT <= 150 ms:\s+33\.3 %/);
  assert.match(text, /Errors:\s+1 \(33\.3 %\): http_5xx 1/);
  assert.match(text, /Degraded:\s+yes: error rate/);
  assert.doesNotMatch(text, /Controller/);
  const withController = formatRunSummary(result(controllerOn()));
  assert.match(withController, /Controller[\s\S]*Plans applied \/ rejected:\s+3 \/ 0[\s\S]*Requests kept \(reload not worth it\):\s+1/);
  assert.match(withController, /Re-plan triggers:\s+batch-changed 2, drift 1/);
  assert.match(withController, /Solve p99 \/ median step:\s+0\.40 \(median step 25\.00 ms/);
  assert.match(withController, /Admitted \/ refused \/ holds:\s+7 \/ 1 \/ 2 \(1\.5% of the run held\)/);
  assert.doesNotMatch(withController, /Turned off mid-run/);
  const stalled = formatRunSummary(result({ ...controllerOn(), turned_off: { reason: 'PUT /orbitflow/v1/placement timed out', after_s: 2.5 }, call_timeouts: 2 }));
  assert.match(stalled, /Turned off mid-run:\s+after 2\.5 s: PUT \/orbitflow\/v1\/placement timed out/);
  assert.match(stalled, /Control calls timed out \/ failed:\s+2 \/ 0/);
  assert.match(formatRunSummary(result({ enabled: false, reason: '--controller off' })), /Controller:\s+off \(--controller off\)/);
  const md = runSummaryMarkdown(result());
  assert.match(md, /^# orbitflow replay/);
  assert.match(md, /\| Successful requests \| 2 \|/);
});

test('requests.jsonl lines: times, lag, tokens per message (null without per-message usage)', () => {
  const r = okRecord(0, 12.5, [100, 130.1234567], { tokens: [1, 3] });
  r.dueMs = 10;
  r.releasedMs = 11;
  const line = requestLine(r);
  assert.equal(line.schedule_lag_ms, 1);
  assert.equal(line.queue_time_ms, 1.5);
  assert.equal(line.ttft_ms, 100);
  assert.deepEqual(line.chunk_ms, [100, 130.123]);
  assert.deepEqual(line.chunk_tokens, [1, 3]);
  assert.equal(line.output_tokens, 4);
  assert.equal(requestLine(okRecord(1, 0, [5, 6])).chunk_tokens, null);
  assert.equal(requestLine(failedRecord(2, 0, 'timeout')).status, 'failed');
});

test('live stats: counts, rolling TTFT/TPOT, tokens per second; progress line and sparkline', () => {
  const live = new LiveStats(3, 10);
  const a = okRecord(0, 0, [], {});
  live.onReleased();
  live.onSent();
  for (const [t, m] of [[100, 1], [1200, 3]] as const) {
    a.chunkMs.push(t);
    a.chunkTokens.push(m);
    live.onTokenChunk(a);
  }
  a.runningOutputTokens = 4;
  live.onDone(a);
  const s = live.snapshot(2500);
  assert.equal(s.sent, 1);
  assert.equal(s.finished, 1);
  assert.equal(s.inFlight, 0);
  assert.equal(s.outputTokens, 4);
  assert.deepEqual(s.tokensPerS, [1, 3, 0]);
  assert.equal(s.ttftP50Ms, 100);
  assert.equal(s.tpotP50Ms, 1100 / 3);
  assert.match(formatProgressLine(s), /sent 1\/3 done 1 failed 0 in-flight 0/);
  assert.equal(sparkline([0, 4, 8]), '▁▄█');
});
