import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PolicyRow } from '../../src/engine/compare-policies.js';
import { answerTarget, meetsTarget, type AxisSample, type TargetClause } from '../../src/engine/sweep-target.js';

function row(tbt: number, tpot: number): PolicyRow {
  const zero = { requests: 10, completed: 10, rejected: 0, aborted: 0, expected_tokens: 100, decoded_tokens: 100, p95_tbt_over_slo: null, p95_tbt_ms: null };
  return {
    ...zero, policy: 'p', tpot_attainment: tpot, tbt_attainment: tbt, tbt_attainment_td: tbt, throughput_tok_s: 1, output_throughput_tok_s: 1, makespan_s: 1,
    mean_ttft_ms: 0, mean_tpot_ms: 0, mean_gpu_kv_use: 0, preemptions: 0, pauses: 0, fallbacks: 0, replans: 0, solver_ms_total: 0, solver_ms_mean: 0,
    solver_ms_p99: 0, solve_p99_over_median_step: null, solver_wall_ms_total: 0, steps: 1, decode_steps: 1, prefill_steps: 0, h2d_gib: 0, reload_gib: 0, simulation_wall_s: null,
  };
}

const lerp = (x0: number, y0: number, x1: number, y1: number, x: number): number => y0 + ((x - x0) / (x1 - x0)) * (y1 - y0);
const TBT: TargetClause = { metric: 'tbt_attainment', op: '>=', threshold: 0.9 };
const TPOT: TargetClause = { metric: 'tpot_attainment', op: '>=', threshold: 0.8 };

test('answerTarget (least value): the first meeting cell, interpolated from the one before; with two clauses the later crossing decides', () => {
  const samples: AxisSample[] = [
    { value: 2, row: row(0.5, 0.2) },
    { value: 4, row: row(0.7, 0.5) },
    { value: 8, row: row(0.95, 0.85) },
    { value: 16, row: row(0.99, 0.99) },
  ];
  const one = answerTarget(samples, [TBT], 'min', false);
  assert.equal(one.kind, 'interpolated');
  assert.deepEqual(one.between, [4, 8]);
  assert.ok(Math.abs(lerp(4, 0.7, 8, 0.95, one.value!) - 0.9) < 1e-12);
  const both = answerTarget(samples, [TBT, TPOT], 'min', false);
  // At the answer every clause holds on the interpolated line, and one holds with equality.
  const tbtAt = lerp(4, 0.7, 8, 0.95, both.value!);
  const tpotAt = lerp(4, 0.5, 8, 0.85, both.value!);
  assert.ok(tbtAt >= 0.9 - 1e-12 && tpotAt >= 0.8 - 1e-12);
  assert.ok(Math.min(Math.abs(tbtAt - 0.9), Math.abs(tpotAt - 0.8)) < 1e-12);
  assert.ok(both.value! > one.value!, 'the TPOT clause crosses later than TBT alone');
  // Integer axes round up (the least whole value that is safe).
  const seqs = answerTarget(samples, [TBT], 'min', true);
  assert.equal(seqs.value, Math.ceil(one.value!));
});

test('answerTarget (most value, rate-scale): searched from the top; bounds, gaps and misses are said so', () => {
  const load: AxisSample[] = [
    { value: 1, row: row(0.99, 0.99) },
    { value: 2, row: row(0.93, 0.9) },
    { value: 4, row: row(0.6, 0.5) },
  ];
  const most = answerTarget(load, [TBT], 'max', false);
  assert.equal(most.kind, 'interpolated');
  assert.deepEqual(most.between, [4, 2]);
  assert.ok(most.value! > 2 && most.value! < 4);
  assert.ok(Math.abs(lerp(2, 0.93, 4, 0.6, most.value!) - 0.9) < 1e-12);

  assert.deepEqual(answerTarget(load, [{ ...TBT, threshold: 0.5 }], 'max', false), { kind: 'first_cell', value: 4, between: null, missing_cells: 0, fails_beyond: [] });
  assert.deepEqual(answerTarget(load, [{ ...TBT, threshold: 0.999 }], 'max', false), { kind: 'not_met', value: null, between: null, missing_cells: 0, fails_beyond: [] });
  const gap: AxisSample[] = [{ value: 1, row: row(0.5, 0.5) }, { value: 2, row: null }, { value: 4, row: row(0.95, 0.95) }];
  assert.deepEqual(answerTarget(gap, [TBT], 'min', false), { kind: 'cell', value: 4, between: null, missing_cells: 1, fails_beyond: [] });
  // Not monotone: meets at 2, fails again at 8 (a larger batch admitted), meets at 16.
  const bumpy: AxisSample[] = [{ value: 1, row: row(0.5, 0.5) }, { value: 2, row: row(0.95, 0.95) }, { value: 8, row: row(0.2, 0.2) }, { value: 16, row: row(0.95, 0.95) }];
  const b = answerTarget(bumpy, [TBT], 'min', false);
  assert.equal(b.kind, 'interpolated');
  assert.deepEqual(b.between, [1, 2]);
  assert.deepEqual(b.fails_beyond, [8]);
  // A metric the row lacks (P95 of requests that never finished) fails its clause.
  assert.equal(meetsTarget(row(1, 1), [{ metric: 'p95_tbt_over_slo', op: '<=', threshold: 2 }]), false);
});
