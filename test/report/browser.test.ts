import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ABLATION_LADDER } from '../../src/controller/variants.js';
import { runCli } from '../helpers/cli.js';
import { findChromium, NO_CHROMIUM, visitReport, type PageVisit, type RenderedChart } from '../helpers/browser.js';
import { PROFILES, REPO_ROOT } from '../helpers/paths.js';

/**
 * Each kind of HTML report, made by the built CLI and opened from disk in headless Chromium: no
 * console error, no request of any kind, and every chart drawn with the series the run implies
 * (counted here from the run's own JSON outputs, not from the report).
 */
const chromium = findChromium();
const skip = chromium === null ? NO_CHROMIUM : false;
const PROFILE = join(PROFILES, 'a6000-llama-3.1-8b.published-fit.json');
const FIVE_MB = 5 * 1024 * 1024;
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'orbitflow-report-browser-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function clean(v: PageVisit): void {
  assert.deepEqual(v.consoleErrors, [], 'console errors');
  assert.deepEqual(v.requests, [], 'the report made requests');
}

/** The chart drew `series` series, and put pixels or bars on the page. */
function drew(v: PageVisit, id: string, series: number): RenderedChart {
  const c = v.charts.find((x) => x.id === id);
  assert.ok(c, `chart ${id} missing; charts: ${v.charts.map((x) => x.id).join(', ')}`);
  assert.equal(c.drawn, series, `${id}: drew ${c.drawn} series, expected ${series}`);
  if (c.kind === 'bar') assert.ok(c.bars > 0, `${id}: no bars`);
  else assert.ok(c.paintedPixels > 1000, `${id}: canvas nearly blank (${c.paintedPixels} pixels)`);
  return c;
}

test('replay --report: CDFs, load, schedule lag, SLO bars (by SLO and by request class), controller and telemetry charts render, --compare overlaid; --out DIR has the same report.html', { skip }, async () => {
  const file = join(dir, 'replay.html');
  const out = join(dir, 'replay-out');
  const r = await runCli(
    // The artifact's sample: two request classes, each request with its own TPOT SLO.
    ['replay', 'traces/sample-orbitflow.json', '--step-ms', '25', '--speedup', '4', '--slo', 'tbt=40', '--deposit', '--compare', 'flexgen-plus', '--out', out, '--report', file, '--max-schedule-lag-ms', '5000'],
    { timeoutMs: 120_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readFileSync(join(out, 'report.html')), readFileSync(file), '--report FILE and --out DIR/report.html differ');
  assert.ok(statSync(file).size < FIVE_MB);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  const v = await visitReport(file, chromium!);
  clean(v);
  const runs = 2; // the controlled run and flexgen-plus
  for (const id of ['cdf-ttft', 'cdf-tpot', 'cdf-itl', 'cdf-tbt', 'cdf-e2el', 'throughput', 'concurrency']) drew(v, id, runs);
  // TPOT (the trace's), TBT (--slo), all, TBT per token without and with Token-Deposit; a bar per run each.
  assert.equal(drew(v, 'slo-attainment', runs).bars, 5 * runs);
  const classes = new Set(readFileSync(join(REPO_ROOT, 'traces/sample-orbitflow.json'), 'utf8').match(/"category": "[^"]+"/g));
  assert.equal(classes.size, 2);
  assert.equal(drew(v, 'slo-attainment-by-class', 2).bars, 2 * classes.size, 'TPOT and TBT for each class');
  drew(v, 'requests', 4);
  drew(v, 'schedule-lag', 2);
  const actions = result.controller.actions as Array<{ trigger: string; measured_step_ms: number | null }>;
  assert.ok(actions.length > 0, 'the controller made no plan: nothing to chart');
  drew(v, 'controller-plans', 1 + new Set(actions.map((a) => a.trigger)).size);
  drew(v, 'controller-step-time', actions.some((a) => a.measured_step_ms !== null) ? 2 : 1);
  assert.equal(result.telemetry.enabled, true);
  drew(v, 'telemetry-queue', 2);
  drew(v, 'telemetry-kv', 1);
  assert.deepEqual(v.headings, ['Summary', 'Latency distributions', 'Load over time', 'SLO attainment', 'Feedback controller', 'Engine telemetry']);
});

test('plan --trace --report: every policy side by side, GPU KV and H2D curves per policy, the ablation ladder', { skip }, async () => {
  const file = join(dir, 'trace.html');
  const out = join(dir, 'trace-out');
  const r = await runCli(['plan', '--trace', 'traces/sample-mooncake.jsonl', '--model', 'llama-3.1-8b', '--profile', PROFILE, '--gpu-kv-gib', '4', '--policy', 'ablation,gpu-only,flexgen', '--out', out, '--report', file]);
  assert.equal(r.code, 0, r.stderr);
  const comparison = JSON.parse(readFileSync(join(out, 'comparison.json'), 'utf8'));
  const policies = comparison.rows.length;
  assert.equal(policies, ABLATION_LADDER.length + 2);
  assert.deepEqual(readFileSync(join(out, 'report.html')), readFileSync(file));
  const v = await visitReport(file, chromium!);
  clean(v);
  assert.equal(drew(v, 'policy-attainment', 3).bars, 3 * policies);
  drew(v, 'policy-throughput', 2);
  drew(v, 'usage-gpu-kv', policies);
  drew(v, 'usage-h2d', policies);
  assert.equal(drew(v, 'ablation-attainment', 3).bars, 3 * ABLATION_LADDER.length, 'three attainments per rung');
});

test('plan --batch --report: a placement heat map (a row per request) and the per-layer step split for the plan and each baseline', { skip }, async () => {
  const file = join(dir, 'batch.html');
  const json = join(dir, 'plan.json');
  const r = await runCli(['plan', '--model', 'llama-3.1-8b', '--profile', PROFILE, '--gpu-kv-gib', '8', '--batch', 'traces/batches/mooncake-16.json', '--policy', 'all', '--out', json, '--report', file]);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(readFileSync(json, 'utf8'));
  const policies = [plan.policy, ...plan.baselines.map((b: { policy: string }) => b.policy)];
  assert.ok(policies.length >= 5, `only ${policies.length} policies`);
  const v = await visitReport(file, chromium!);
  clean(v);
  drew(v, 'policy-step', 2);
  const layers = 32; // llama-3.1-8b
  for (const p of policies) {
    drew(v, `placement-${p}`, 16);
    assert.equal(drew(v, `layers-${p}`, 2).bars, 2 * layers);
  }
});

test('the harness itself sees a request and a console error (so a clean report is evidence)', { skip }, async () => {
  const file = join(dir, 'leaky.html');
  writeFileSync(file, '<!doctype html><html><body><img src="http://127.0.0.1:9/x.png"><script>console.error("boom"); window.__orbitflowCharts = []; window.__orbitflowReady = true;</script></body></html>');
  const v = await visitReport(file, chromium!);
  assert.deepEqual(v.requests, ['http://127.0.0.1:9/x.png']);
  assert.ok(v.consoleErrors.includes('boom'), v.consoleErrors.join('; '));
});
