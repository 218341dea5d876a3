import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GIB } from '../../src/core/units.js';
import { UsageRecorder } from '../../src/engine/usage-series.js';
import type { StepBreakdown } from '../../src/engine/types.js';
import { planBatch } from '../../src/planner/plan-batch.js';
import type { PlanReport } from '../../src/planner/plan-format.js';
import { evaluateBaseline } from '../../src/planner/policies.js';
import { buildBatchReport } from '../../src/report/batch-report.js';
import { chartsOf, type BarChart, type HeatMap, type XyChart } from '../../src/report/model.js';
import { buildTraceReport, type ComparisonSummary } from '../../src/report/trace-report.js';
import { A6000_8B, createRng, memoryRange, randomRequests } from '../planner/helpers.js';

test('plan --batch report: the heat map is each placement, the per-layer bars add up to the plan step, for the plan and every baseline', async () => {
  const cost = A6000_8B;
  const rng = createRng(5);
  for (let trial = 0; trial < 6; trial++) {
    const requests = randomRequests(rng, 12);
    const { min, max } = memoryRange(cost, requests);
    // Tight budgets make the planner offload and, at the tightest, pause.
    const budgetBlocks = Math.floor(min + (trial / 10) * (max - min)) + 1;
    const input = { cost, budgetBlocks, requests, windowSteps: 16, timeLimitMs: 0, defaultSloTpotMs: 60 };
    const plan = await planBatch(input);
    const baselines = (['gpu-only', 'flexgen', 'dynamic'] as const).map((b) => evaluateBaseline(b, input));
    const report: PlanReport = {
      created: '', tool: 'test', model: cost.model, tp: 1, blockBytes: cost.blockBytes,
      profile: { id: 'p', file: 'p.json', sha256: '0', kind: 'published-fit', provenanceLine: 'profile p' },
      budgetBlocks, windowSteps: 16, timeLimitMs: 0, gapTolerance: 0, pausePolicy: 'longest', seed: 0,
      slo: { source: '--tpot-slo-ms', tpotMs: 60, scale: null, baseMs: null }, requests, policy: 'orbitflow', plan, baselines,
    };
    const charts = chartsOf(buildBatchReport(report, cost, ['orbitflow', 'plan']));
    for (const p of [plan, ...baselines]) {
      const heat = charts.find((c) => c.id === `placement-${p.policy}`) as HeatMap;
      assert.equal(heat.rows.length, p.placements.length);
      assert.equal(heat.cells.length, p.placements.length * cost.layers);
      p.placements.forEach((pl, r) => {
        for (let l = 0; l < cost.layers; l++) {
          const want = pl.paused ? 2 : pl.offloaded.includes(l) ? 1 : 0;
          assert.equal(heat.cells[r * cost.layers + l], want, `${p.policy} ${pl.id} layer ${l}`);
        }
      });
      const bars = charts.find((c) => c.id === `layers-${p.policy}`) as BarChart;
      const sum = (i: number): number => bars.series[i].values.reduce<number>((a, b) => a + (b ?? 0), 0);
      assert.ok(Math.abs(sum(0) - p.step.computeMs) <= 1e-3 * p.step.totalMs, `${p.policy}: compute ${sum(0)} vs ${p.step.computeMs}`);
      assert.ok(Math.abs(sum(1) - p.step.stallMs) <= 1e-3 * p.step.totalMs + 1e-9, `${p.policy}: stall ${sum(1)} vs ${p.step.stallMs}`);
    }
  }
});

const step = (endMs: number, used: number, bytes: number): StepBreakdown => ({ endMs, gpuBlocksUsed: used, bytesFetched: bytes, bytesReloaded: 0 }) as StepBreakdown;

test('plan --trace report: GPU KV use and H2D traffic per policy, merged to at most 600 points (step-weighted use, traffic per second)', () => {
  const rec = new UsageRecorder(100);
  // 1500 s: two steps a second in even seconds (use 0.2 and 0.6), none in odd ones; 1 GiB fetched each even second.
  for (let s = 0; s < 1500; s += 2) {
    rec.onStep(step(s * 1000 + 100, 20, GIB / 2));
    rec.onStep(step(s * 1000 + 600, 60, GIB / 2));
  }
  const comparison = { model: 'm', tp: 1, profile: { id: 'p', file: 'f', provenance: 'profile p' }, trace: { file: 't', format: 'f', requests: 1, input_tokens: 1, output_tokens: 1 },
    engine: { budget_blocks: 100, budget_gib: 1, max_num_seqs: 1, noise_cv: 0, step_overhead_ms: 0, seed: 0 }, slo_ms: 1, slo_source: 's', solver_latency: 'model', scoring: 's', rows: [], notes: [] } satisfies ComparisonSummary;
  const short = new UsageRecorder(100);
  for (let s = 0; s < 300; s += 2) short.onStep(step(s * 1000 + 100, 50, GIB));
  const charts = chartsOf(buildTraceReport({ comparison, usage: [{ policy: 'a', series: rec.series() }, { policy: 'b', series: short.series() }], command: [] }));
  const use = charts.find((c) => c.id === 'usage-gpu-kv') as XyChart;
  const h2d = charts.find((c) => c.id === 'usage-h2d') as XyChart;
  assert.equal(use.series.length, 2);
  const s = use.series[0];
  assert.ok(s.x.length <= 600, `${s.x.length} points`);
  // 1500 one-second buckets (the last at 1498.6 s) merged three at a time: 500 points of 3 s.
  assert.equal(s.x.length, 500);
  assert.deepEqual(s.x.slice(0, 3), [0, 3, 6]);
  for (const y of s.y) assert.ok(Math.abs((y as number) - 0.4) < 1e-9, `use ${y}`);
  // The shorter run is merged with the same width, so both curves share their x values.
  assert.deepEqual(use.series[1].x, s.x.slice(0, use.series[1].x.length));
  assert.equal(use.series[1].x.length, 100);
  // Each 3 s holds one or two even seconds: 1/3 or 2/3 GiB/s.
  for (const y of h2d.series[0].y) assert.ok(Math.abs((y as number) - 1 / 3) < 1e-3 || Math.abs((y as number) - 2 / 3) < 1e-3, `h2d ${y}`);
});
