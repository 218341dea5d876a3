import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/core/rng.js';
import { enumerateOptimum } from '../../src/planner/enumerate.js';
import { stagingLayers } from '../../src/planner/ilp.js';
import { buildInstance, type Instance } from '../../src/planner/instance.js';
import { lagrangianBound } from '../../src/planner/lagrangian-bound.js';
import { COSTS, memoryRange, randomRequests } from './helpers.js';

/** The bound as first written: every option scanned for every request (the hull search must agree with it). */
function boundByScan(inst: Instance, rows: readonly number[], staging: readonly number[]): number {
  const L = inst.layers;
  const O = inst.options.length;
  const resident = inst.options.map((o) => L - o.n);
  let best = L * inst.tcMs;
  let lambdaHi = 0;
  let gMin = Infinity;
  for (const q of inst.requests) {
    lambdaHi = Math.max(lambdaHi, q.copyMs * L);
    gMin = Math.min(gMin, q.growthBlocks);
  }
  lambdaHi = (2 * lambdaHi) / Math.max(1, gMin);
  for (const j of rows) {
    const cnt = inst.options.map((o) => o.offloaded.filter((l) => l <= j).length);
    for (const js of staging) {
      const stag = inst.options.map((o) => o.ind[js]);
      const value = (lambda: number): { v: number; slope: number } => {
        let v = -lambda * inst.budgetBlocks;
        let mem = 0;
        for (const q of inst.requests) {
          let m = Infinity;
          let mk = 0;
          for (let k = 0; k < O; k++) {
            const x = q.copyMs * cnt[k] + lambda * q.growthBlocks * (resident[k] + stag[k]);
            if (x < m) [m, mk] = [x, k];
          }
          v += m;
          mem += q.growthBlocks * (resident[mk] + stag[mk]);
        }
        return { v, slope: mem - inst.budgetBlocks };
      };
      let top = value(0);
      let t = top.v;
      if (top.slope > 0) {
        let [lo, hi] = [0, lambdaHi];
        for (let it = 0; it < 40; it++) {
          const mid = (lo + hi) / 2;
          const at = value(mid);
          t = Math.max(t, at.v);
          if (at.slope > 0) lo = mid;
          else hi = mid;
        }
        t = Math.max(t, value(lo).v, value(hi).v);
      }
      best = Math.max(best, (L - j) * inst.tcMs + t);
    }
  }
  return best;
}

test('Lagrangian bound: the hull search equals the scan of every option (120 seeded instances), and never exceeds the optimum', () => {
  let enumerated = 0;
  for (let seed = 1; seed <= 120; seed++) {
    const rng = createRng(7000 + seed);
    const cost = COSTS[seed % COSTS.length];
    const n = seed % 3 === 0 ? rng.int(1, 3) : rng.int(4, 40);
    const reqs = randomRequests(rng, n);
    const { min, max } = memoryRange(cost, reqs);
    const inst = buildInstance(cost, reqs, Math.floor(min + rng.next() * (max - min)), 16);
    const staging = stagingLayers(inst.layers, inst.options);
    const rows = [rng.int(0, inst.layers - 1), rng.int(0, inst.layers - 1), inst.layers - 1];
    const fast = lagrangianBound(inst, rows, staging).boundMs;
    const scan = boundByScan(inst, rows, staging);
    assert.ok(Math.abs(fast - scan) <= 1e-9 * scan, `seed ${seed}: hull ${fast} vs scan ${scan}`);
    if (n <= 3 && cost.layers <= 32) {
      const opt = enumerateOptimum(inst);
      if (opt) {
        assert.ok(fast <= opt.value.stepMs * (1 + 1e-9), `seed ${seed}: bound ${fast} above the optimum ${opt.value.stepMs}`);
        enumerated++;
      }
    }
  }
  assert.ok(enumerated >= 10, `only ${enumerated} instances enumerated`);
});
