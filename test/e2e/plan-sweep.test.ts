import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { AZURE_CONV, MOONCAKE_CONV, PROFILES } from '../helpers/paths.js';
import type { SweepReport } from '../../src/engine/sweep-report.js';
import type { PolicyRow } from '../../src/engine/compare-policies.js';

const PROFILE = ['--model', 'llama-3.1-8b', '--profile', join(PROFILES, 'a6000-llama-3.1-8b.published-fit.json')];
// A short real window (Mooncake's first 30 s, long contexts: memory binds) keeps each simulation small.
const MOONCAKE = ['plan', '--trace', MOONCAKE_CONV, '--window', '0:30', ...PROFILE];
const dir = mkdtempSync(join(tmpdir(), 'orbitflow-sweep-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A report with the fields that measure this machine (and the --jobs it ran with) taken out. */
function withoutWallClock(r: SweepReport): unknown {
  const drop = new Set(r.wall_clock_fields);
  return JSON.parse(JSON.stringify(r, (k, v) => (drop.has(k) ? undefined : v)));
}

test('plan --sweep: bad input is one line naming the flag, exit 2, before any simulation', async () => {
  const cases: [string[], RegExp][] = [
    [['--sweep', 'gpu-mem=2,4'], /^orbitflow: --sweep: unknown key 'gpu-mem'/],
    [['--sweep', 'gpu-kv-gib='], /^orbitflow: --sweep: gpu-kv-gib: the list of values is empty/],
    [['--sweep', 'gpu-kv-gib=2,four'], /^orbitflow: --sweep: gpu-kv-gib: 'four' is not a number/],
    [['--sweep', 'gpu-kv-gib=2,4', '--sweep', 'gpu-kv-gib=8'], /^orbitflow: --sweep: gpu-kv-gib is swept twice/],
    [['--sweep', 'gpu-kv-gib=2,2'], /^orbitflow: --sweep: gpu-kv-gib: 2 is listed twice/],
    [['--sweep', 'max-num-seqs=8,12.5'], /^orbitflow: --sweep: max-num-seqs: values must be whole numbers/],
    [['--sweep', 'gpu-kv-gib=2,4', '--target', 'goodput>=0.9'], /^orbitflow: --target: unknown metric 'goodput'/],
    [['--sweep', 'gpu-kv-gib=2,4', '--target', 'tbt=>0.9'], /^orbitflow: --target: expected METRIC OP NUMBER/],
    [['--sweep', 'gpu-kv-gib=2,4', '--jobs', '0'], /^orbitflow: option '--jobs <n>' argument '0' is invalid/],
    [['--sweep', 'gpu-kv-gib=2,4', '--gpu-kv-gib', '4'], /^orbitflow: --sweep: gpu-kv-gib is swept; drop --gpu-kv-gib/],
    [['--sweep', 'rate-scale=1,2'], /^orbitflow: --gpu-kv-gib: a GPU KV budget is required/],
    [['--gpu-kv-gib', '4', '--target', 'tbt>=0.9'], /^orbitflow: --target: goes with --trace TRACE --sweep/],
    [['--sweep', 'gpu-kv-gib=1,2', '--sweep', 'rate-scale=1', '--sweep', 'slo-scale=1'], /^orbitflow: --sweep: at most 2 keys/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli([...MOONCAKE, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /sweeping|simulating|\n\s+at /, `${args.join(' ')}: nothing simulated, no stack trace`);
    assert.equal(r.stdout, '');
  }
});

test('plan --sweep gpu-kv-gib --target: the same report with --jobs 1 and 2; rows are plan --trace rows; the answer sits between the cells it names', async () => {
  const args = [...MOONCAKE, '--sweep', 'gpu-kv-gib=1,2,4', '--policy', 'orbitflow,gpu-only,flexgen-plus', '--target', 'tbt>=0.8', '--json'];
  const [one, two] = await Promise.all([runCli([...args, '--jobs', '1'], { timeoutMs: 120_000 }), runCli([...args, '--jobs', '2'], { timeoutMs: 120_000 })]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(two.code, 0, two.stderr);
  assert.match(two.stderr, /on 2 worker thread\(s\)/);
  assert.match(two.stderr, /^sweep 9\/9: /m, 'a progress line per simulation in CI');
  const r1 = JSON.parse(one.stdout) as SweepReport;
  const r2 = JSON.parse(two.stdout) as SweepReport;
  assert.equal(r2.schema, 'orbitflow.sweep/v1');
  assert.equal(r1.jobs, 1);
  assert.equal(r2.jobs, 2);
  assert.deepEqual(withoutWallClock(r1), withoutWallClock(r2), 'results do not depend on --jobs');
  assert.equal(r2.cells.length, 3);
  assert.ok(r2.complete);
  for (const c of r2.cells) assert.deepEqual(c.rows.map((x) => x.policy), ['orbitflow', 'gpu-only', 'flexgen-plus']);

  // The 4 GiB cell is exactly what plan --trace simulates at that budget: a swept budget's SLO base is taken at 4 GiB.
  const single = await runCli([...MOONCAKE, '--gpu-kv-gib', '4', '--policy', 'orbitflow,gpu-only,flexgen-plus', '--json'], { timeoutMs: 120_000 });
  assert.equal(single.code, 0, single.stderr);
  const cmp = JSON.parse(single.stdout) as { slo_ms: number; rows: PolicyRow[] };
  const top = r2.cells[2];
  assert.equal(top.slo_ms, cmp.slo_ms);
  const strip = (rows: PolicyRow[]): unknown => rows.map((x) => ({ ...x, simulation_wall_s: null, solver_wall_ms_total: 0 }));
  assert.deepEqual(strip(top.rows), strip(cmp.rows));
  // One SLO for every cell.
  assert.ok(r2.cells.every((c) => c.slo_ms === top.slo_ms));

  // Each answer agrees with the cells: the cells it interpolates between fail and meet the target,
  // and the metric interpolated linearly to the answer is the threshold.
  const tbt = (gib: number, policy: string): number => r2.cells.find((c) => c.at['gpu-kv-gib'] === gib)!.rows.find((x) => x.policy === policy)!.tbt_attainment;
  assert.equal(r2.minimums.length, 3);
  for (const m of r2.minimums) {
    const meets = [1, 2, 4].filter((g) => tbt(g, m.policy) >= 0.8);
    if (m.kind === 'not_met') assert.deepEqual(meets, [], m.policy);
    else if (m.kind === 'first_cell') assert.equal(m.value, 1);
    else {
      assert.equal(m.kind, 'interpolated');
      const [lo, hi] = m.between!;
      assert.equal(hi, meets[0], `${m.policy}: the first meeting cell`);
      assert.ok(tbt(lo, m.policy) < 0.8);
      const at = tbt(lo, m.policy) + ((m.value! - lo) / (hi - lo)) * (tbt(hi, m.policy) - tbt(lo, m.policy));
      assert.ok(Math.abs(at - 0.8) < 1e-9, `${m.policy}: TBT interpolated to ${m.value} GiB is ${at}`);
    }
  }
  const ref = r2.minimums.find((m) => m.policy === 'orbitflow')!;
  for (const c of r2.comparisons) {
    assert.equal(c.reference, 'orbitflow');
    const other = r2.minimums.find((m) => m.policy === c.policy)!;
    if (ref.value !== null && other.value !== null) assert.ok(Math.abs(c.change! - (ref.value / other.value - 1)) < 1e-12);
    else assert.equal(c.change, null);
  }
});

test('plan --sweep: the terminal table shows every cell and the answer, said interpolated; a crashed worker fails its row only (exit 4); --out DIR writes sweep.json', async () => {
  const out = join(dir, 'crash');
  const r = await runCli(
    ['plan', '--trace', AZURE_CONV, '--window', '0:30', ...PROFILE, '--sweep', 'gpu-kv-gib=0.25,0.5,1', '--sweep', 'rate-scale=1,2', '--policy', 'gpu-only,flexgen-plus', '--target', 'tbt>=0.9,tpot>=0.9', '--jobs', '2', '--out', out],
    { env: { ORBITFLOW_TEST_SWEEP_CRASH: 'gpu-kv-gib=0.5, rate-scale=2:flexgen-plus' }, timeoutMs: 120_000 },
  );
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /1 of 12 simulations failed \(gpu-kv-gib=0\.5, rate-scale=2 flexgen-plus\)/);
  assert.match(r.stdout, /^0\.5 GiB × 2×\s+\S.*FAILED$/m, 'the failed simulation is reported in its row');
  assert.match(r.stdout, /\[0\.5 GiB × 2×, flexgen-plus\] failed: worker exited/);
  assert.match(r.stdout, /^at rate-scale=1:$/m);
  assert.match(r.stdout, /^at rate-scale=2:$/m);
  const report = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as SweepReport;
  assert.equal(report.cells.length, 6);
  assert.equal(report.complete, false);
  const failedCell = report.cells.find((c) => c.at['gpu-kv-gib'] === 0.5 && c.at['rate-scale'] === 2)!;
  assert.deepEqual(failedCell.failed.map((f) => f.policy), ['flexgen-plus']);
  assert.deepEqual(failedCell.rows.map((x) => x.policy), ['gpu-only']);
  assert.equal(report.cells.reduce((s, c) => s + c.rows.length, 0), 11, 'every other simulation finished');
  for (const m of report.minimums) {
    const line = new RegExp(`^${m.policy.replace('+', '\\+')}\\s+(.*)$`, 'm');
    const text = [...r.stdout.matchAll(new RegExp(line, 'gm'))].map((x) => x[1]);
    if (m.kind === 'interpolated') assert.ok(text.some((t) => t.startsWith('≈') && t.includes('(interpolated between')), `${m.policy}: ${text.join(' | ')}`);
    if (m.kind === 'not_met') assert.ok(text.some((t) => t.startsWith('not met')), `${m.policy}: ${text.join(' | ')}`);
  }
});

test('plan --sweep: SIGINT keeps the finished simulations (sweep.json, exit 130)', async () => {
  const out = join(dir, 'interrupted');
  const r = await runCli([...MOONCAKE, '--window', '0:120', '--sweep', 'gpu-kv-gib=1,2,4,8', '--policy', 'orbitflow,gpu-only', '--jobs', '1', '--out', out], {
    timeoutMs: 120_000,
    onSpawn: (_pid, child) => {
      let seen = '';
      child.stderr!.on('data', (d: Buffer | string) => {
        seen += String(d);
        if (/^sweep 1\/8: /m.test(seen) && !child.killed) child.kill('SIGINT');
      });
    },
  });
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /interrupted: \d+ of 8 simulations finished; keeping them/);
  const report = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as SweepReport;
  assert.equal(report.interrupted, true);
  const finished = report.cells.reduce((s, c) => s + c.rows.length, 0);
  const notRun = report.cells.reduce((s, c) => s + c.not_run.length, 0);
  assert.ok(finished >= 1 && finished < 8, `finished ${finished}`);
  assert.equal(finished + notRun, 8);
  assert.match(r.stdout, /not run/);
});

test('plan --sweep max-num-seqs × slo-scale and rate-scale: each cell simulates what it says; the rate answer is the most load meeting it', async () => {
  const grid = await runCli([...MOONCAKE, '--gpu-kv-gib', '2', '--sweep', 'max-num-seqs=4,8', '--sweep', 'slo-scale=1,2.5', '--policy', 'gpu-only,flexgen-plus', '--target', 'tpot>=0.5', '--json'], { timeoutMs: 120_000 });
  assert.equal(grid.code, 0, grid.stderr);
  const g = JSON.parse(grid.stdout) as SweepReport;
  assert.deepEqual(g.axes.map((a) => [a.key, a.values]), [['max-num-seqs', [4, 8]], ['slo-scale', [1, 2.5]]]);
  assert.equal(g.cells.length, 4);
  assert.equal(g.slo.scale, null);
  for (const c of g.cells) {
    assert.equal(c.max_num_seqs, c.at['max-num-seqs']);
    assert.ok(Math.abs(c.slo_ms - c.at['slo-scale']! * g.slo.base_ms) < 1e-9, 'S = the cell’s scale × one base');
  }
  // A looser SLO never scores a policy lower on the same simulation.
  for (const seqs of [4, 8]) {
    const [tight, loose] = [1, 2.5].map((x) => g.cells.find((c) => c.at['max-num-seqs'] === seqs && c.at['slo-scale'] === x)!);
    for (const p of g.policies) assert.ok(loose.rows.find((r) => r.policy === p)!.tpot_attainment >= tight.rows.find((r) => r.policy === p)!.tpot_attainment, `${p} at ${seqs}`);
  }
  // One answer per policy and per slo-scale, along max-num-seqs, in whole sequences.
  assert.equal(g.minimums.length, 4);
  for (const m of g.minimums) if (m.value !== null) assert.ok(Number.isInteger(m.value), `${m.value}`);

  const rate = await runCli([...MOONCAKE, '--gpu-kv-gib', '2', '--sweep', 'rate-scale=0.5,1,2', '--policy', 'gpu-only', '--target', 'tbt>=0.6', '--json'], { timeoutMs: 120_000 });
  assert.equal(rate.code, 0, rate.stderr);
  const r = JSON.parse(rate.stdout) as SweepReport;
  const n = (x: number): number => r.cells.find((c) => c.at['rate-scale'] === x)!.requests;
  assert.ok(n(0.5) < n(1) && n(1) < n(2), `requests ${n(0.5)}, ${n(1)}, ${n(2)}`);
  assert.equal(r.axes[0].want, 'max');
  const m = r.minimums[0];
  const meets = [0.5, 1, 2].filter((x) => r.cells.find((c) => c.at['rate-scale'] === x)!.rows[0].tbt_attainment >= 0.6);
  if (meets.length === 0) assert.equal(m.kind, 'not_met');
  else if (meets.includes(2)) assert.equal(m.kind, 'first_cell');
  else assert.equal(m.between![1], Math.max(...meets), 'interpolated down from the most load that meets it');
});

test('sweepSeries: the curves an HTML report draws come from the same report, one per policy and panel, with gaps where a cell has no row', async () => {
  const { sweepSeries } = await import('../../src/report/sweep-series.js');
  const r = await runCli(
    ['plan', '--trace', AZURE_CONV, '--window', '0:30', ...PROFILE, '--sweep', 'gpu-kv-gib=0.25,0.5', '--sweep', 'rate-scale=1,2', '--policy', 'gpu-only,flexgen-plus', '--target', 'tbt>=0.9', '--json'],
    { env: { ORBITFLOW_TEST_SWEEP_CRASH: 'gpu-kv-gib=0.5, rate-scale=1:gpu-only' }, timeoutMs: 120_000 },
  );
  assert.equal(r.code, 4, r.stderr);
  const report = JSON.parse(r.stdout) as SweepReport;
  const { series, threshold } = sweepSeries(report, 'tbt_attainment');
  assert.equal(threshold, 0.9);
  assert.equal(series.length, 4, '2 policies × 2 panels');
  for (const s of series) {
    assert.deepEqual(s.points.map((p) => p.x), [0.25, 0.5]);
    for (const p of s.points) {
      const cell = report.cells.find((c) => c.at['gpu-kv-gib'] === p.x && c.at['rate-scale'] === s.at['rate-scale'])!;
      assert.equal(p.y, cell.rows.find((x) => x.policy === s.policy)?.tbt_attainment ?? null);
    }
  }
  const gap = series.find((s) => s.policy === 'gpu-only' && s.at['rate-scale'] === 1)!;
  assert.equal(gap.points[1].y, null, 'the crashed simulation is a gap');
});
