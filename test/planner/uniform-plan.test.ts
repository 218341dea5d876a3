import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniformPlan } from '../../src/planner/uniform-plan.js';
import { placementForDistance } from '../../src/core/placement.js';
import { planMemory } from '../../src/planner/memory.js';
import { distanceOptions } from '../../src/planner/options.js';
import { testCost } from '../engine/fixtures.js';

const cost = testCost();
const W = 16;
const requests = [4000, 8000, 12000, 16000].map((c, i) => ({ id: `r${i}`, contextTokens: c }));
const blocksAt = (d: number, reqs = requests): number => planMemory(cost.layers, reqs.map((r) => ({ contextTokens: r.contextTokens, placement: placementForDistance(cost.layers, d) })), W).totalBlocks;

test('uniform plan: one shared distance, the fastest that fits, checked against every option', () => {
  const budget = Math.floor(blocksAt(-1) * 0.6);
  const p = uniformPlan({ cost, budgetBlocks: budget, requests, windowSteps: W, pause: false, pausePolicy: 'longest', seed: 0 });
  const d = p.placements[0].distance;
  assert.ok(p.placements.every((x) => x.distance === d));
  assert.ok(p.memoryBlocks <= budget && !p.overBudget);
  for (const o of distanceOptions(cost.layers)) {
    if (blocksAt(o) > budget) continue;
    const t = cost.stepTime(requests.map((r) => ({ contextTokens: r.contextTokens, placement: placementForDistance(cost.layers, o) }))).totalMs;
    assert.ok(p.step.totalMs <= t * (1 + 1e-9), `d=${o} is faster (${t} < ${p.step.totalMs})`);
  }
});

test('uniform plan: without Pause-Resume a budget below every option is reported over budget; with it, victims are paused until one fits', () => {
  const budget = Math.floor(blocksAt(0) * 0.5);
  const off = uniformPlan({ cost, budgetBlocks: budget, requests, windowSteps: W, pause: false, pausePolicy: 'longest', seed: 0 });
  assert.equal(off.overBudget, true);
  assert.deepEqual(off.paused, []);
  const on = uniformPlan({ cost, budgetBlocks: budget, requests, windowSteps: W, pause: true, pausePolicy: 'longest', seed: 0 });
  assert.equal(on.overBudget, false);
  assert.ok(on.memoryBlocks <= budget);
  assert.equal(on.paused[0], 'r3', 'the longest request is paused first');
});

test('uniform plan: with SLOs, Pause-Resume pauses only while that strictly lowers the violations', () => {
  const tight = requests.map((r) => ({ ...r, sloTpotMs: cost.allOnGpuStepMs(3, 24000) * 1.05 }));
  const budget = blocksAt(-1, tight);
  const on = uniformPlan({ cost, budgetBlocks: budget, requests: tight, windowSteps: W, pause: true, pausePolicy: 'longest', seed: 0 });
  const off = uniformPlan({ cost, budgetBlocks: budget, requests: tight, windowSteps: W, pause: false, pausePolicy: 'longest', seed: 0 });
  assert.ok(on.violations < off.violations, `${on.violations} !< ${off.violations}`);
  assert.deepEqual(on.paused, ['r3']);
  assert.equal(on.violations, 1, 'only the paused request misses');
});
