import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runPlanTrace } from '../../src/cli/plan-trace.js';
import { defaultsOf } from '../../src/cli/option-table.js';
import { PLAN_OPTIONS } from '../../src/cli/plan-options.js';
import type { CliContext } from '../../src/cli/context.js';
import { comparePolicies, sloBaseMs, type PolicyRow } from '../../src/engine/compare-policies.js';
import { BASELINE_POLICIES } from '../../src/cost/baselines.js';
import { driverFactory } from '../../src/controller/variants.js';
import { getModel } from '../../src/core/model-catalogue.js';
import { runCli } from '../helpers/cli.js';
import { MOONCAKE_CONV, PROFILES } from '../helpers/paths.js';
import { syntheticTrace, testCost, testProfile, writeTestProfile } from './fixtures.js';

const PUBLISHED_FIT = join(PROFILES, 'a6000-llama-3.1-8b.published-fit.json');

function checkRow(r: PolicyRow): void {
  for (const k of ['tpot_attainment', 'tbt_attainment', 'tbt_attainment_td', 'mean_gpu_kv_use'] as const) {
    assert.ok(r[k] >= 0 && r[k] <= 1, `${r.policy}: ${k} = ${r[k]}`);
  }
  // Token-Deposit only ever forgives violations, except for truncated requests it also charges.
  if (r.aborted === 0) assert.ok(r.tbt_attainment_td >= r.tbt_attainment - 1e-12, `${r.policy}: TD ${r.tbt_attainment_td} < plain ${r.tbt_attainment}`);
  assert.equal(r.completed + r.rejected + r.aborted, r.requests);
  assert.ok(r.makespan_s > 0);
  assert.ok(r.decoded_tokens <= r.expected_tokens);
  // Throughput is tokens over makespan: output alone, and output plus the completed requests' input.
  assert.ok(Math.abs(r.output_throughput_tok_s * r.makespan_s - r.decoded_tokens) < 1e-6 * r.decoded_tokens);
  assert.ok(r.throughput_tok_s > r.output_throughput_tok_s);
  assert.equal(r.steps, r.decode_steps + r.prefill_steps);
  if (r.p95_tbt_over_slo !== null) assert.ok(r.p95_tbt_over_slo > 0);
}

test('comparePolicies: every policy finishes a generated trace; numbers are consistent; orbitflow within a point of the best baseline on TBT and at least its throughput share', async () => {
  const cost = testCost();
  const trace = syntheticTrace(90, { seed: 21, ratePerS: 1, meanInput: 4000, meanOutput: 200 });
  const budgetBlocks = cost.budgetBlocksFromGiB(1.5);
  const sloMs = 1.5 * sloBaseMs(cost, budgetBlocks, 16);
  const res = await comparePolicies(trace, {
    cost, budgetBlocks, maxNumSeqs: 16, noiseCv: 0.05, seed: 0, stepOverheadMs: 0.3, sloMs,
    policies: ['orbitflow', ...BASELINE_POLICIES],
    driverFor: driverFactory({ model: getModel('llama-3.1-8b'), profile: testProfile(), tp: 1, budgetBlocks, sloMs }),
  });
  assert.deepEqual(res.rows.map((r) => r.policy), ['orbitflow', ...BASELINE_POLICIES]);
  assert.deepEqual(res.notes, []);
  const input = trace.reduce((s, r) => s + r.inputTokens, 0);
  for (const r of res.rows) {
    checkRow(r);
    if (r.completed === r.requests) assert.ok(Math.abs(r.throughput_tok_s * r.makespan_s - (input + r.decoded_tokens)) < 1e-6 * (input + r.decoded_tokens));
  }
  const orbit = res.rows[0];
  assert.ok(orbit.replans > 0);
  // The acceptance of "never the wrong choice": within one point of every baseline's TBT and TPOT
  // attainment, and at least 0.97 of the best output throughput.
  for (const b of res.rows.slice(1)) {
    assert.ok(orbit.tbt_attainment >= b.tbt_attainment - 0.01, `orbitflow TBT ${orbit.tbt_attainment} < ${b.policy} ${b.tbt_attainment}`);
    assert.ok(orbit.tbt_attainment_td >= b.tbt_attainment_td - 0.01, `orbitflow TBT (TD) ${orbit.tbt_attainment_td} < ${b.policy} ${b.tbt_attainment_td}`);
    assert.ok(orbit.tpot_attainment >= b.tpot_attainment - 0.01, `orbitflow TPOT ${orbit.tpot_attainment} < ${b.policy} ${b.tpot_attainment}`);
    assert.ok(orbit.output_throughput_tok_s >= 0.97 * b.output_throughput_tok_s, `orbitflow ${orbit.output_throughput_tok_s} tok/s < 0.97 × ${b.policy} ${b.output_throughput_tok_s}`);
  }
});

/** `plan` with no option given: each test names what it sets. */
const PLAN_DEFAULTS = defaultsOf(PLAN_OPTIONS);

function captureCtx(): { ctx: CliContext; stdout: () => string; stderr: () => string } {
  const o = new PassThrough();
  const e = new PassThrough();
  let so = '';
  let se = '';
  o.on('data', (d: Buffer) => (so += d.toString()));
  e.on('data', (d: Buffer) => (se += d.toString()));
  const ctx: CliContext = { stdout: o, stderr: e, env: {}, cwd: process.cwd(), argv: [], exitCode: 0, interactive: false, clockMs: () => performance.now() };
  return { ctx, stdout: () => so, stderr: () => se };
}

test('runPlanTrace on a window of the Mooncake trace: JSON comparison, placement timeline, orbitflow ahead', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'of-plan-trace-'));
  try {
    const profile = writeTestProfile(dir);
    const { ctx, stdout, stderr } = captureCtx();
    await runPlanTrace({
      ...PLAN_DEFAULTS, trace: MOONCAKE_CONV, profile, model: 'llama-3.1-8b', gpuKvGib: 6, policy: 'all', window: '0:90', maxNumSeqs: 8,
      json: true, out: join(dir, 'out'),
    }, ctx);
    const c = JSON.parse(stdout());
    assert.equal(c.schema, 'orbitflow.comparison/v1');
    assert.ok(c.trace.requests > 100);
    assert.ok(c.slo_ms > 0);
    assert.deepEqual(c.rows.map((r: PolicyRow) => r.policy), ['orbitflow', ...BASELINE_POLICIES]);
    for (const r of c.rows) checkRow(r);
    const orbit = c.rows[0] as PolicyRow;
    // Against every offloading baseline, orbitflow attains at least as much. gpu-only is not held
    // to that: on this 6 GiB budget it keeps fewer requests running (the rest queue, and queueing
    // is not a decode gap), so its TBT is on a par with orbitflow's while its TTFT shows the cost.
    for (const b of c.rows.slice(1) as PolicyRow[]) {
      if (b.policy === 'gpu-only') continue;
      assert.ok(orbit.tbt_attainment >= b.tbt_attainment, `orbitflow ${orbit.tbt_attainment} < ${b.policy} ${b.tbt_attainment}`);
    }
    assert.match(stderr(), /simulating \d+ requests/);
    const onDisk = JSON.parse(readFileSync(join(dir, 'out', 'comparison.json'), 'utf8'));
    assert.deepEqual(onDisk.rows.map((r: PolicyRow) => r.tbt_attainment), c.rows.map((r: PolicyRow) => r.tbt_attainment));
    const plans = readFileSync(join(dir, 'out', 'placements.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const orbitPlans = plans.filter((p) => p.policy === 'orbitflow' && p.source === 'driver');
    // Every applied plan is in the timeline (a plan the engine refuses is not).
    assert.ok(orbitPlans.length > 0 && orbitPlans.length <= orbit.replans, `${orbitPlans.length} plans for ${orbit.replans} re-plans`);
    for (const p of orbitPlans) {
      assert.match(p.note.trigger, /^(batch-changed|memory-forecast|drift|window|rejected|admission)$/);
      assert.ok(Number.isInteger(p.step) && p.time_ms >= 0);
      for (const x of p.placements) assert.ok(x.distance === null || x.distance >= -1);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runPlanTrace prints the table with the profile provenance first, and refuses bad options with exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'of-plan-trace-'));
  try {
    const profile = writeTestProfile(dir);
    const { ctx, stdout } = captureCtx();
    await runPlanTrace({ ...PLAN_DEFAULTS, trace: MOONCAKE_CONV, profile, gpuKvGib: 6, policy: 'dynamic', limit: 40 }, ctx);
    const lines = stdout().trim().split('\n');
    assert.match(lines[0], /^profile engine-test-a100-datasheet \(NOT MEASURED: datasheet-derived\)/);
    assert.match(lines.at(-2)!, /^policy\s+TPOT att\s+TBT att\s+TBT att TD\s+P95 TBT\/S/);
    assert.match(lines.at(-1)!, /^dynamic\s+\d+\.\d%/);
    // Without --profile, the embedded engine's (and the provenance line says which it is).
    const dflt = captureCtx();
    await runPlanTrace({ ...PLAN_DEFAULTS, trace: MOONCAKE_CONV, gpuKvGib: 6, policy: 'gpu-only', limit: 5 }, dflt.ctx);
    assert.match(dflt.stdout().split('\n')[0], /^profile h100-sxm\.datasheet \(NOT MEASURED: datasheet-derived\)/);
    for (const bad of [{ policy: 'nope' }, { gpuKvGib: undefined }, { profile: join(dir, 'missing.json') }]) {
      await assert.rejects(
        runPlanTrace({ ...PLAN_DEFAULTS, trace: MOONCAKE_CONV, profile, gpuKvGib: 6, limit: 5, seed: 0, speedup: 1, rateScale: 1, jitter: 0, ...bad }, captureCtx().ctx),
        (e: { exitCode?: number }) => e.exitCode === 2,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The comparison JSON without the fields it names as this machine's wall-clock measurements. */
function withoutWallClock(json: string): unknown {
  const c = JSON.parse(json) as { wall_clock_fields: string[] };
  const wall = new Set(c.wall_clock_fields);
  return JSON.parse(json, (k, v) => (wall.has(k) ? undefined : v));
}

test('plan --trace is deterministic: the same JSON twice, the second under a busy CPU, apart from the named wall-clock fields', async () => {
  const args = ['plan', '--trace', MOONCAKE_CONV, '--window', '0:60', '--profile', PUBLISHED_FIT, '--model', 'llama-3.1-8b', '--gpu-kv-gib', '4', '--policy', 'all', '--json'];
  const quiet = await runCli(args, { timeoutMs: 120_000 });
  assert.equal(quiet.code, 0, quiet.stderr);
  const busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  let loaded;
  try {
    loaded = await runCli(args, { timeoutMs: 120_000 });
  } finally {
    busy.kill('SIGKILL');
  }
  assert.equal(loaded.code, 0, loaded.stderr);
  const c = JSON.parse(quiet.stdout);
  assert.deepEqual(c.wall_clock_fields, ['simulation_wall_s', 'solver_wall_ms_total']);
  assert.equal(c.solver_latency, 'model');
  for (const row of c.rows) checkRow(row);
  assert.ok(c.rows.some((r: PolicyRow) => r.policy === 'orbitflow' && r.replans > 0), 'the controller re-planned (its latency was charged)');
  assert.deepEqual(withoutWallClock(loaded.stdout), withoutWallClock(quiet.stdout));
  // The wall-clock fields are real measurements, not constants.
  assert.ok(c.rows.every((r: PolicyRow) => r.simulation_wall_s !== null && r.simulation_wall_s > 0));
});

test('plan --solver-latency: anything but model, measured or a non-negative number of ms is one line, exit 2', async () => {
  for (const bad of ['fast', '-1', '1e3x', '']) {
    const r = await runCli(['plan', '--trace', MOONCAKE_CONV, '--window', '0:10', '--profile', PUBLISHED_FIT, '--gpu-kv-gib', '4', '--solver-latency', bad]);
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /^orbitflow: --solver-latency: expected model, measured, 0 or a non-negative number of ms; got/, bad);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  }
});
