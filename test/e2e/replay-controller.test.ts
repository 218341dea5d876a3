import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findChromium, NO_CHROMIUM, visitReport } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { AZURE_CONV, BIN, PROFILES, REPO_ROOT } from '../helpers/paths.js';

const PROFILE = join(PROFILES, 'h100-sxm.datasheet.json');

test("the README's first command (plus --report): replay a sample trace against the embedded engine, controller on; the report renders", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orbitflow-readme-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const report = join(dir, 'r.html');
  const r = await runCli(['replay', 'traces/sample-azure-conv.csv', '--report', report], { timeoutMs: 120_000 });
  // Exit 0, except that a CI box loaded by the other tests may make the client late sending
  // requests: then the run correctly reports itself degraded (exit 4) for schedule lag alone.
  if (r.code === 4) assert.match(r.stderr, /run degraded: p99 schedule lag [\d.]+ ms > --max-schedule-lag-ms 10\n/);
  else assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /embedded reference engine http:\/\/127\.0\.0\.1:\d+/);
  assert.match(r.stderr, /controller on/);
  assert.match(r.stdout, /Successful requests:\s+60/);
  const applied = /Plans applied \/ rejected:\s+(\d+)/.exec(r.stdout);
  assert.ok(applied && Number(applied[1]) > 0, 'the controller applied plans');
  assert.ok(statSync(report).size < 5 * 2 ** 20, 'the report is over 5 MB');
  const chromium = findChromium();
  await t.test('its --report renders in headless Chromium: no console error, no request, every chart drawn', { skip: chromium === null ? NO_CHROMIUM : false }, async () => {
    const v = await visitReport(report, chromium!);
    assert.deepEqual(v.consoleErrors, []);
    assert.deepEqual(v.requests, []);
    const ids = v.charts.map((c) => c.id);
    for (const id of ['cdf-ttft', 'cdf-tpot', 'cdf-itl', 'cdf-tbt', 'cdf-e2el', 'throughput', 'requests', 'concurrency', 'schedule-lag', 'controller-plans', 'controller-step-time', 'telemetry-queue', 'telemetry-kv']) {
      assert.ok(ids.includes(id), `chart ${id} missing: ${ids.join(', ')}`);
    }
    for (const c of v.charts) {
      assert.equal(c.drawn, c.expected, `${c.id}: drew ${c.drawn} of ${c.expected} series`);
      assert.ok(c.drawn > 0 && c.paintedPixels > 1000, `${c.id}: nothing drawn`);
    }
    // One run, no --slo: one curve per CDF, no SLO bars.
    assert.equal(v.charts.find((c) => c.id === 'cdf-ttft')!.drawn, 1);
    assert.ok(!ids.includes('slo-attainment'));
  });
});

/** Start `orbitflow engine` on a free loopback port; resolves with its URL. */
function startEngine(): Promise<{ url: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'engine', '--model', 'llama-3.1-8b', '--profile', PROFILE, '--gpu-kv-gib', '0.25', '--policy', 'external', '--seed', '5', '--time-scale', '0.5', '--port', '0', '--json'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ url: JSON.parse(buf.slice(0, nl)).url, child });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`engine exited ${code}`)));
  });
}

async function replayAgainst(url: string, controller: 'on' | 'off'): Promise<Record<string, any>> {
  const r = await runCli([
    'replay', AZURE_CONV, '--endpoint', url, '--controller', controller, '--profile', PROFILE, '--model', 'llama-3.1-8b',
    '--window', '0:30', '--limit', '40', '--max-input', '1500', '--max-output', '48', '--max-schedule-lag-ms', '100', '--speedup', '2', '--slo', 'tbt=24', '--deposit', '--seed', '5', '--json',
  ], { timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('live: a window of the Azure conv trace against `orbitflow engine` over HTTP, controller on and off', async () => {
  const on = await startEngine();
  let withController: Record<string, any>;
  try {
    withController = await replayAgainst(on.url, 'on');
    const state = (await (await fetch(`${on.url}/orbitflow/v1/state`)).json()) as { counters: { decisions_applied: number } };
    assert.ok(withController.controller.enabled);
    assert.ok(withController.controller.plans_applied > 0, 'plans applied');
    // Every plan the controller counts as applied, the engine counts too.
    assert.ok(state.counters.decisions_applied >= withController.controller.plans_applied);
  } finally {
    on.child.kill('SIGTERM');
  }
  // Without the controller the `external` engine runs the Dynamic Heuristic: the same seed, the baseline.
  const off = await startEngine();
  try {
    const dynamic = await replayAgainst(off.url, 'off');
    assert.equal(dynamic.controller.enabled, false);
    const a = withController.slo_attainment.tbt_tokens;
    const b = dynamic.slo_attainment.tbt_tokens;
    // Both runs are measured on the wall clock of a shared 2-core box, where the controller's
    // solver competes with the engine and the client for CPU: timer jitter moves a few of ~1,700
    // gaps across the SLO either way. In virtual time (test/engine/plan-trace.test.ts) the same
    // comparison is exact; here a point of slack keeps the test about the controller, not the box.
    const slack = 0.01;
    assert.ok(a.attainment_td >= b.attainment_td - slack, `TBT attainment (Token-Deposit) with the controller ${a.attainment_td} < dynamic ${b.attainment_td}`);
    // Without Token-Deposit the live comparison is not reliably in the controller's favour on this
    // box (plans land a step or two late, and reloads after a placement change cost a step), so it
    // is not compared; what must hold: both runs are scored over the same expected tokens, the
    // no-TD figure is exactly its violations over them, and Token-Deposit only ever forgives.
    for (const [name, t] of [['controller', a], ['dynamic', b]] as const) {
      assert.equal(t.expected_tokens, a.expected_tokens, `${name}: same expected tokens`);
      assert.ok(t.expected_tokens >= 40, `${name}: ${t.expected_tokens} expected tokens`);
      assert.ok(Math.abs(t.attainment_no_td - (1 - t.violations_no_td / t.expected_tokens)) < 1e-12, `${name}: attainment_no_td`);
      assert.ok(t.violations_td <= t.violations_no_td, `${name}: Token-Deposit ${t.violations_td} > plain ${t.violations_no_td}`);
    }
  } finally {
    off.child.kill('SIGTERM');
  }
});
