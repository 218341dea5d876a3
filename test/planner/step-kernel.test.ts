import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/core/rng.js';
import { closedFormStep } from '../../src/cost/step-time.js';
import { SearchState } from '../../src/planner/heuristic.js';
import { buildInstance, evaluateAssignment } from '../../src/planner/instance.js';
import { testCost } from '../engine/fixtures.js';

const cost = testCost();

test('the step-time kernel is the CostModel, the instance evaluation and the heuristic\'s incremental moves alike, on random instances', () => {
  const rng = createRng(42);
  for (let trial = 0; trial < 200; trial++) {
    const n = rng.int(1, 12);
    const requests = Array.from({ length: n }, (_, i) => ({ id: `r${i}`, contextTokens: rng.int(16, 30_000) }));
    const inst = buildInstance(cost, requests, 10_000_000, 16);
    const O = inst.options.length;
    const assign = Int32Array.from({ length: n }, () => rng.int(0, O - 1));
    // The kernel on the instance's own per-layer copy times…
    const comm = new Float64Array(inst.layers);
    for (let r = 0; r < n; r++) for (const l of inst.options[assign[r]].offloaded) comm[l] += inst.requests[r].copyMs;
    const k = closedFormStep(comm, inst.layers, inst.tcMs);
    // …equals the instance evaluation and the CostModel's step time.
    const v = evaluateAssignment(inst, assign);
    assert.ok(Math.abs(v.stepMs - k.stepMs) <= 1e-9 * k.stepMs);
    const sc = cost.stepTime(requests.map((q, r) => ({ contextTokens: q.contextTokens, placement: { distance: inst.options[assign[r]].distance, offloaded: inst.options[assign[r]].offloaded } })));
    assert.ok(Math.abs(sc.totalMs - k.stepMs) <= 1e-9 * k.stepMs, `trial ${trial}: CostModel ${sc.totalMs} vs kernel ${k.stepMs}`);
    // The incremental single and pair moves predict what the moved assignment evaluates to.
    const s = new SearchState(inst, assign);
    const r1 = rng.int(0, n - 1);
    const b1 = rng.int(0, O - 1);
    s.evalMove(r1, b1);
    const moved = Int32Array.from(assign);
    moved[r1] = b1;
    const after = evaluateAssignment(inst, moved);
    assert.ok(Math.abs(s.evT - after.stepMs) <= 1e-9 * after.stepMs, `trial ${trial}: evalMove ${s.evT} vs ${after.stepMs}`);
    assert.ok(Math.abs(s.evMem - after.memoryBlocks) <= 1e-6);
    if (n >= 2) {
      const r2 = (r1 + 1) % n;
      const b2 = rng.int(0, O - 1);
      s.evalPair(r1, b1, r2, b2);
      moved[r2] = b2;
      const pair = evaluateAssignment(inst, moved);
      assert.ok(Math.abs(s.evT - pair.stepMs) <= 1e-9 * pair.stepMs, `trial ${trial}: evalPair ${s.evT} vs ${pair.stepMs}`);
      assert.ok(Math.abs(s.evMem - pair.memoryBlocks) <= 1e-6);
    }
  }
});

test('the per-layer split adds up to the closed form: Σ per-layer stalls is the stall, and each layer waits only on its own copies', () => {
  const rng = createRng(7);
  for (let trial = 0; trial < 200; trial++) {
    const n = rng.int(1, 12);
    const requests = Array.from({ length: n }, (_, i) => ({ id: `r${i}`, contextTokens: rng.int(16, 30_000) }));
    const inst = buildInstance(cost, requests, 10_000_000, 16);
    const items = requests.map((q) => {
      const o = inst.options[rng.int(0, inst.options.length - 1)];
      return { contextTokens: q.contextTokens, placement: { distance: o.distance, offloaded: o.offloaded } };
    });
    const step = cost.stepTime(items);
    const split = cost.layerSplit(items);
    const stall = split.layerStallMs.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(stall - step.stallMs) <= 1e-9 * Math.max(1, step.totalMs), `trial ${trial}: Σ layer stalls ${stall} vs stall ${step.stallMs}`);
    assert.ok(Math.abs(cost.layers * split.layerComputeMs - step.computeMs) <= 1e-9 * step.computeMs);
    const offloaded = new Set(items.flatMap((x) => x.placement.offloaded));
    split.layerStallMs.forEach((s, j) => {
      assert.ok(s >= 0);
      if (!offloaded.has(j)) assert.equal(s, 0, `trial ${trial}: layer ${j} has no copies but waits ${s} ms`);
    });
  }
});
