import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planBatch } from '../../src/planner/plan-batch.js';
import { testCost } from '../engine/fixtures.js';

const cost = testCost();
const requests = [
  { id: 'a', contextTokens: 6000 },
  { id: 'b', contextTokens: 9000 },
];
const roomy = 10 * cost.gpuBlocks(9000, { distance: -1, offloaded: [] }, 1000);

test('re-plan: moving everything back on the GPU is done when the window amortises the reload, kept when it does not', async () => {
  const fresh = await planBatch({ cost, budgetBlocks: roomy, requests, windowSteps: 1, timeLimitMs: 0 });
  assert.deepEqual(fresh.placements.map((p) => p.distance), [-1, -1], 'with room and no history, all on GPU');
  const running = requests.map((r) => ({ ...r, currentDistance: 0 }));
  // One step of window: reloading all L layers (L·τ_r) costs more than the stall it removes.
  const short = await planBatch({ cost, budgetBlocks: roomy, requests: running, windowSteps: 1, timeLimitMs: 0 });
  const kept = short.placements.filter((p) => p.distance === 0).length;
  assert.ok(kept >= 1 && short.certificate.keptForReload === kept, `kept ${kept}, certificate ${short.certificate.keptForReload}`);
  // What was kept lowers step time + amortised reload against moving everyone (the fresh plan).
  const reloadAll = requests.reduce((s, r) => s + cost.layers * cost.requestLayerTransferMs(r.contextTokens + 0), 0);
  const reloadKept = short.placements.reduce((s, p) => s + (p.distance === 0 ? 0 : cost.layers * cost.requestLayerTransferMs(p.contextTokens)), 0);
  assert.ok(short.step.totalMs + reloadKept < fresh.step.totalMs + reloadAll);
  assert.notEqual(short.certificate.status, 'optimal', 'a plan kept for reloads claims no optimality in T');
  // A long window spreads the same reload over many steps: worth it.
  const long = await planBatch({ cost, budgetBlocks: roomy, requests: running, windowSteps: 1000, timeLimitMs: 0 });
  assert.deepEqual(long.placements.map((p) => p.distance), [-1, -1]);
  assert.equal(long.certificate.keptForReload ?? 0, 0);
});

test('re-plan: a request already where the plan wants it costs nothing and changes nothing', async () => {
  const first = await planBatch({ cost, budgetBlocks: roomy / 20, requests, windowSteps: 16, timeLimitMs: 0 });
  const again = await planBatch({
    cost,
    budgetBlocks: roomy / 20,
    requests: requests.map((r, i) => ({ ...r, currentDistance: first.placements[i].distance })),
    windowSteps: 16,
    timeLimitMs: 0,
  });
  assert.deepEqual(again.placements.map((p) => p.distance), first.placements.map((p) => p.distance));
  assert.equal(again.certificate.keptForReload ?? 0, 0);
  assert.ok(again.memoryBlocks <= roomy / 20);
});
