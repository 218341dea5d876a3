import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrbitflowError } from '../../src/core/errors.js';
import { placementForDistance } from '../../src/core/placement.js';
import { BASELINE_POLICIES } from '../../src/cost/baselines.js';
import { enumerateOptimum } from '../../src/planner/enumerate.js';
import { greedyPlacement } from '../../src/planner/heuristic.js';
import { buildInstance, violationThresholdMs } from '../../src/planner/instance.js';
import { planMemory } from '../../src/planner/memory.js';
import { planBatch } from '../../src/planner/plan-batch.js';
import { evaluateBaseline } from '../../src/planner/policies.js';
import { A6000_70B_TP4, A6000_8B, COSTS, createRng, memoryRange, randomBudget, randomRequests } from './helpers.js';

test('a plan never exceeds the budget, and its memory and step time are what the cost model says (60 seeded batches)', async () => {
  for (let seed = 1; seed <= 60; seed++) {
    const rng = createRng(seed);
    const cost = COSTS[seed % COSTS.length];
    const reqs = randomRequests(rng, rng.int(1, 24));
    const budget = randomBudget(rng, cost, reqs);
    const plan = await planBatch({ cost, budgetBlocks: budget, requests: reqs, timeLimitMs: 20 });
    assert.ok(plan.memoryBlocks <= budget, `seed ${seed}: ${plan.memoryBlocks} > ${budget}`);
    assert.equal(plan.overBudget, false);
    const active = plan.placements.filter((p) => !p.paused);
    const items = active.map((p) => ({ contextTokens: p.contextTokens, placement: placementForDistance(cost.layers, p.distance) }));
    // Evaluated independently of the planner's closed form: memory counted block by block here,
    // step time by the layer-by-layer event simulation of the copy engine and compute.
    let blocks = 0;
    let staging = 0;
    const stagingAt = new Float64Array(cost.layers);
    for (const it of items) {
      const perLayer = Math.ceil((it.contextTokens + 16) / 16);
      blocks += (cost.layers - it.placement.offloaded.length) * perLayer;
      for (const l of it.placement.offloaded) staging = Math.max(staging, (stagingAt[l] += perLayer));
    }
    assert.equal(plan.memoryBlocks, blocks + staging, `seed ${seed}: memory`);
    assert.equal(planMemory(cost.layers, items, 16).totalBlocks, plan.memoryBlocks, `seed ${seed}: planMemory`);
    const events = cost.stepTimeEvents(items);
    assert.ok(Math.abs(events.totalMs - plan.step.totalMs) <= 1e-9 * events.totalMs, `seed ${seed}: step ${plan.step.totalMs} vs events ${events.totalMs}`);
    for (const p of active) assert.deepEqual(p.offloaded, [...placementForDistance(cost.layers, p.distance).offloaded]);
    // The budget is at least "all offloaded" for everyone, so nothing is paused.
    assert.deepEqual(plan.paused, []);
    const c = plan.certificate;
    assert.ok(c.bestBoundMs <= c.objectiveMs * (1 + 1e-12) && c.bestBoundMs >= plan.step.computeMs * (1 - 1e-12), `seed ${seed}: bound`);
    assert.ok(c.gap >= 0 && c.gap < 1);
  }
});

test('on instances small enough to enumerate (N ≤ 4), the planner equals exhaustive enumeration', async () => {
  let checked = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const rng = createRng(1000 + seed);
    const cost = seed % 4 === 0 ? A6000_70B_TP4 : COSTS[seed % 2];
    const n = cost.layers === 80 ? rng.int(1, 3) : rng.int(1, 4);
    const reqs = randomRequests(rng, n);
    const budget = randomBudget(rng, cost, reqs);
    const inst = buildInstance(cost, reqs, budget, 16);
    const ref = enumerateOptimum(inst);
    assert.ok(ref, `seed ${seed}: something fits`);
    const plan = await planBatch({ cost, budgetBlocks: budget, requests: reqs, timeLimitMs: 10_000, gapTolerance: 0 });
    const rel = Math.abs(plan.step.totalMs - ref.value.stepMs) / ref.value.stepMs;
    assert.ok(rel <= 1e-6, `seed ${seed}: planner ${plan.step.totalMs} vs enumeration ${ref.value.stepMs}`);
    assert.equal(plan.step.bytesMoved, ref.value.bytes, `seed ${seed}: bytes at equal T`);
    assert.equal(plan.certificate.status, 'optimal', `seed ${seed}`);
    checked++;
  }
  assert.equal(checked, 40);
});

test('the planner is never worse than the heuristic or any baseline that fits the budget', async () => {
  let compared = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const rng = createRng(2000 + seed);
    const cost = COSTS[seed % COSTS.length];
    const reqs = randomRequests(rng, rng.int(2, 32));
    const budget = randomBudget(rng, cost, reqs);
    const input = { cost, budgetBlocks: budget, requests: reqs, timeLimitMs: 20 };
    const plan = await planBatch(input);
    const heur = greedyPlacement(buildInstance(cost, reqs, budget, 16));
    assert.ok(heur);
    assert.ok(plan.step.totalMs <= heur.value.stepMs * (1 + 1e-9), `seed ${seed}: heuristic`);
    for (const policy of BASELINE_POLICIES) {
      const b = evaluateBaseline(policy, input);
      if (b.overBudget) continue;
      compared++;
      assert.ok(plan.step.totalMs <= b.step.totalMs * (1 + 1e-9), `seed ${seed}: ${policy} ${b.step.totalMs} < planner ${plan.step.totalMs}`);
    }
  }
  assert.ok(compared > 40, `only ${compared} baseline plans fitted`);
});

test('violations: a request violates iff T > θ = S·W/(W − δ); a deposit of W tokens covers the window', async () => {
  assert.ok(Math.abs(violationThresholdMs(50, 4, 16) - (50 * 16) / 12) < 1e-12);
  assert.equal(violationThresholdMs(50, 16, 16), Infinity);
  assert.equal(violationThresholdMs(undefined, 0, 16), Infinity);
  // All on GPU (ample budget): T = 32·t_c. Three tiers around it.
  const reqs = [
    { id: 'tight', contextTokens: 5000, sloTpotMs: 30 },
    { id: 'loose', contextTokens: 5000, sloTpotMs: 500 },
    { id: 'banked', contextTokens: 5000, sloTpotMs: 30, depositTokens: 16 },
    { id: 'none', contextTokens: 5000 },
  ];
  const { max } = memoryRange(A6000_8B, reqs);
  const plan = await planBatch({ cost: A6000_8B, budgetBlocks: max, requests: reqs, timeLimitMs: 20 });
  assert.equal(plan.certificate.status, 'optimal');
  assert.equal(plan.step.stallMs, 0);
  const v = Object.fromEntries(plan.placements.map((p) => [p.id, p.violates]));
  assert.deepEqual(v, { tight: true, loose: false, banked: false, none: false });
  assert.equal(plan.violations, 1);
  assert.equal(plan.certificate.sloTier?.thetaMs, 500);
});

test('Pause-Resume for memory: victims by policy until "all offloaded" fits; never the last request', async () => {
  const reqs = [
    { id: 'a', contextTokens: 30_000 },
    { id: 'b', contextTokens: 10_000 },
    { id: 'c', contextTokens: 20_000 },
  ];
  // Room for the smallest placements of b and c (staging only) but not a as well.
  const budget = Math.ceil(10_016 / 16) + Math.ceil(20_016 / 16) + 10;
  const longest = await planBatch({ cost: A6000_8B, budgetBlocks: budget, requests: reqs, pausePolicy: 'longest', timeLimitMs: 20 });
  assert.deepEqual(longest.paused, ['a']);
  assert.ok(longest.memoryBlocks <= budget);
  const pa = longest.placements.find((p) => p.id === 'a')!;
  assert.equal(pa.paused, true);
  assert.equal(pa.gpuBlocks, 0);
  const shortest = await planBatch({ cost: A6000_8B, budgetBlocks: budget, requests: reqs, pausePolicy: 'shortest', timeLimitMs: 20 });
  // b is paused first; a and c still do not fit, so c goes too: a alone fits.
  assert.deepEqual(shortest.paused, ['b', 'c']);
  // noPause requests are spared while others can go.
  const spared = await planBatch({ cost: A6000_8B, budgetBlocks: budget, requests: reqs.map((r) => ({ ...r, noPause: r.id === 'a' })), timeLimitMs: 20 });
  assert.ok(!spared.paused.includes('a'));
  // Random is seeded: the same seed, the same victims.
  const r1 = await planBatch({ cost: A6000_8B, budgetBlocks: budget, requests: reqs, pausePolicy: 'random', seed: 5, timeLimitMs: 20 });
  const r2 = await planBatch({ cost: A6000_8B, budgetBlocks: budget, requests: reqs, pausePolicy: 'random', seed: 5, timeLimitMs: 20 });
  assert.deepEqual(r1.paused, r2.paused);
});

test('a request that alone cannot fit makes the plan infeasible (exit 2, names the budget, the need and the request)', async () => {
  const reqs = [
    { id: 'small', contextTokens: 100 },
    { id: 'huge', contextTokens: 100_000 },
  ];
  await assert.rejects(
    planBatch({ cost: A6000_8B, budgetBlocks: 1000, requests: reqs }),
    (e: unknown) =>
      OrbitflowError.is(e) && e.exitCode === 2 && e.code === 'OF_PLAN_INFEASIBLE' && e.message === 'budget 1000 blocks is below the 6251 blocks the smallest placement of request huge needs',
  );
});

test('Pause-Resume for SLOs: a pause is taken only when it lowers the violating requests (a pause counts as one)', async () => {
  // All on the GPU: T = 32·(1.26875 + 2.10625e-5·Σctx) ms: 60.8 ms for three requests of ~10k, 53.8 for two.
  const reqs = [
    { id: 'x', contextTokens: 10_000, sloTpotMs: 55 },
    { id: 'y', contextTokens: 10_001, sloTpotMs: 55 },
    { id: 'z', contextTokens: 9_999, sloTpotMs: 55 },
  ];
  const { max } = memoryRange(A6000_8B, reqs);
  const plan = await planBatch({ cost: A6000_8B, budgetBlocks: max, requests: reqs, timeLimitMs: 20 });
  assert.deepEqual(plan.paused, ['y']);
  assert.ok(plan.step.totalMs < 55);
  assert.equal(plan.violations, 1, 'the paused request itself misses its cadence');
  // With a 70 ms SLO nothing violates and nothing is paused.
  const easy = await planBatch({ cost: A6000_8B, budgetBlocks: max, requests: reqs.map((r) => ({ ...r, sloTpotMs: 70 })), timeLimitMs: 20 });
  assert.deepEqual(easy.paused, []);
  assert.equal(easy.violations, 0);
  // One violator among three: pausing it costs as much as it saves, so nothing is paused.
  const one = await planBatch({ cost: A6000_8B, budgetBlocks: max, requests: reqs.map((r) => ({ ...r, sloTpotMs: r.id === 'x' ? 55 : 70 })), timeLimitMs: 20 });
  assert.deepEqual(one.paused, []);
  assert.equal(one.violations, 1);
});

test('baselines are evaluated on the same cost model and memory accounting, and flag plans over the budget', () => {
  const reqs = [
    { id: 'a', contextTokens: 8000 },
    { id: 'b', contextTokens: 16000 },
  ];
  const { max } = memoryRange(A6000_8B, reqs);
  const input = { cost: A6000_8B, budgetBlocks: Math.floor(max / 2), requests: reqs };
  const gpu = evaluateBaseline('gpu-only', input);
  assert.equal(gpu.memoryBlocks, max);
  assert.equal(gpu.overBudget, true);
  assert.equal(gpu.step.stallMs, 0);
  const ds = evaluateBaseline('deepspeed', input);
  assert.equal(ds.overBudget, false);
  assert.equal(ds.memoryBlocks, Math.ceil(8016 / 16) + Math.ceil(16016 / 16));
  assert.equal(ds.step.bytesMoved, 32 * (500 + 1000) * 65536);
  const fg = evaluateBaseline('flexgen', input);
  for (const p of fg.placements) assert.equal(p.distance, 1);
  assert.equal(fg.certificate.status, 'rule');
  assert.equal(fg.certificate.bestBoundMs, fg.step.computeMs);
});
