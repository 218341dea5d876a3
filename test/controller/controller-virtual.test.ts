import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInProcessDriver } from '../../src/controller/variants.js';
import { getModel } from '../../src/core/model-catalogue.js';
import { runVirtual } from '../../src/engine/virtual-run.js';
import { sloBaseMs } from '../../src/engine/compare-policies.js';
import { syntheticTrace, testCost, testProfile } from '../engine/fixtures.js';

const model = getModel('llama-3.1-8b');

test('controller in virtual time: plans fit, pauses resume, every request completes (fixed seed)', async () => {
  const cost = testCost();
  const budgetBlocks = cost.budgetBlocksFromGiB(1);
  const sloMs = 1.5 * sloBaseMs(cost, budgetBlocks, 8);
  const driver = createInProcessDriver('orbitflow', { model, profile: testProfile(), tp: 1, budgetBlocks, sloMs, seed: 3 });
  let maxUsed = 0;
  const trace = syntheticTrace(40, { seed: 7, ratePerS: 2, meanInput: 3000, meanOutput: 120 });
  const run = await runVirtual(trace, { cost, policy: 'orbitflow', budgetBlocks, maxNumSeqs: 8, noiseCv: 0.05, seed: 3, recordTimeline: true }, {
    driver,
    onStep: (_b, core) => {
      maxUsed = Math.max(maxUsed, core.snapshot().gpuBlocks.used);
    },
  });
  assert.ok(maxUsed <= budgetBlocks, `used ${maxUsed} > budget ${budgetBlocks}`);
  const summary = driver.controller.summary();
  // Every request finishes, paused ones included, except those the controller refused: only ever
  // ones vLLM would refuse too (they do not fit the GPU budget with every layer resident).
  const unfinished = run.requests.filter((r) => r.finishReason !== 'length');
  assert.ok(unfinished.every((r) => r.finishReason === 'rejected'), 'nothing is aborted');
  assert.equal(unfinished.length, summary.refused);
  for (const r of unfinished) assert.ok(cost.layers * (Math.ceil(r.inputTokens / 16) + 1) > budgetBlocks, `${r.id} (${r.inputTokens} tokens) was refused although it fits all on the GPU`);
  assert.ok(summary.plansApplied > 0);
  // Plans are made one step ahead for the batch the controller expects; when the engine moved
  // otherwise (it admitted on its own, nobody finished), it refuses the plan all-or-nothing and the
  // controller re-plans. That is the protocol working, and it is rare.
  const overBudget = driver.controller.actions.filter((a) => a.rejectedReason?.startsWith('over-budget')).length;
  assert.ok(overBudget <= 0.02 * driver.controller.actions.length, `${overBudget} of ${driver.controller.actions.length} plans refused as over budget`);
  assert.ok(summary.triggers.rejected >= driver.controller.actions.filter((a) => a.rejectedReason !== undefined).length - 1, 'every refusal brings a re-plan');
  assert.equal(summary.pausesIssued, summary.resumesIssued + summary.pausedNow, 'every pause is matched by a resume');
  // Each applied plan is in the engine's placement timeline, with the trigger that caused it.
  const fromDriver = run.timeline.filter((e) => e.source === 'driver');
  assert.equal(fromDriver.length, summary.plansApplied);
  for (const e of fromDriver) assert.ok(e.note?.trigger && e.note.trigger in summary.triggers);
});

test('controller in virtual time: with no noise and a perfect profile, predicted and measured step times agree', async () => {
  const cost = testCost();
  // Everything fits on the GPU: no reloads, so the engine's step is the cost model's plus a fixed
  // overhead the profile does not know of, which the running correction absorbs.
  const budgetBlocks = cost.budgetBlocksFromGiB(40);
  const driver = createInProcessDriver('orbitflow', { model, profile: testProfile(), tp: 1, budgetBlocks, sloMs: 1000, seed: 1 });
  await runVirtual(syntheticTrace(12, { seed: 2, ratePerS: 4, meanInput: 2000, meanOutput: 150 }), {
    cost, policy: 'orbitflow', budgetBlocks, maxNumSeqs: 8, noiseCv: 0, stepOverheadMs: 0.5, seed: 1,
  }, { driver });
  const k = driver.controller.summary().calibration;
  assert.ok(k.steps > 100);
  // The overhead is an additive few % the multiplicative correction only approximates; noise
  // would otherwise dominate these figures.
  assert.ok(k.stepErrorAfter.median < 0.02, `median error after correction ${k.stepErrorAfter.median}`);
  assert.ok(k.stepErrorAfter.p95 < 0.05, `p95 error after correction ${k.stepErrorAfter.p95}`);
  assert.ok(k.stepErrorAfter.median < k.stepErrorBefore.median, `correction did not help: ${k.stepErrorAfter.median} vs ${k.stepErrorBefore.median}`);
});
