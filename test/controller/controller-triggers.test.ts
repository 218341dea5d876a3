import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Controller, DEFAULT_CONTROLLER } from '../../src/controller/controller.js';
import type { BatchSolver, ObservedRequest, SolveRequest, StepObservation } from '../../src/controller/types.js';
import type { WindowPlan } from '../../src/planner/window-plan.js';
import { testCost } from '../engine/fixtures.js';

/** A solver that records what it was asked and answers "keep every request where it is". */
function recordingSolver(): BatchSolver & { calls: SolveRequest[] } {
  const calls: SolveRequest[] = [];
  return {
    calls,
    async solve(req): Promise<WindowPlan> {
      calls.push(req);
      const plan = {
        policy: 'test',
        placements: req.requests.map((r) => ({ id: r.id, contextTokens: r.contextTokens, distance: -1, offloaded: [], gpuBlocks: 0, paused: false, violates: false })),
        paused: [],
        step: { totalMs: 10, computeMs: 10, stallMs: 0, transferMs: 0, bytesMoved: 0, layerComputeMs: 10 / 32 },
        memoryBlocks: 0,
        budgetBlocks: req.budgetBlocks,
        violations: 0,
        certificate: { status: 'optimal' as const, objectiveMs: 10, bestBoundMs: 10, gap: 0, solveMs: 0, heuristicMs: 0, binding: [] },
      };
      return { plan, admit: [], holdSteps: 0, reject: [], servesDeferred: false, deferred: [], verdict: null, work: { heuristicRuns: 1, requestLayers: 32, lpSolves: 0, mipSolves: 0, nonzeros: 0, boundTerms: 0 }, hitSafetyLimit: false };
    },
  };
}

const cost = testCost();
const req = (id: string, ctx: number, distance = -1): ObservedRequest => ({ id, contextTokens: ctx, generatedTokens: 1, paused: false, distance, offloaded: [] });

function controllerWith(overrides: Partial<typeof DEFAULT_CONTROLLER> = {}, budgetBlocks = 1_000_000) {
  const solver = recordingSolver();
  const c = new Controller(
    { ...DEFAULT_CONTROLLER, costFor: () => cost, budgetBlocks, sloFor: () => 50, replanIntervalSteps: 20, ...overrides },
    solver,
    () => 0,
  );
  return { c, solver };
}

/** A decode step whose measured time is what the cost model predicts times `slow`. */
function step(n: number, reqs: ObservedRequest[], slow = 1): StepObservation {
  const predicted = cost.stepTime(reqs.map((r) => ({ contextTokens: r.contextTokens, placement: { distance: -1, offloaded: [] } }))).totalMs;
  return { step: n, kind: 'decode', nowMs: n * 20, stepMs: predicted * slow, requests: reqs, gpuBlocksTotal: 1, gpuBlocksUsed: 0 };
}

test('controller: re-plans on each named trigger, and only then', async () => {
  const { c, solver } = controllerWith();
  const a = req('a', 1000);
  const b = req('b', 2000);
  assert.equal(c.observe(step(1, [a])), 'batch-changed');
  await c.idle();
  for (let i = 2; i < 20; i++) assert.equal(c.observe(step(i, [a])), null, `step ${i}`);
  assert.equal(c.observe(step(20, [a, b])), 'batch-changed');
  await c.idle();
  // 20 steps without a trigger: the window expires.
  let fired: string | null = null;
  for (let i = 21; i <= 41 && fired === null; i++) fired = c.observe(step(i, [a, b]));
  assert.equal(fired, 'window');
  await c.idle();
  // A steadily 40 % slower engine: drift after K = 3 consecutive steps.
  const seen: (string | null)[] = [];
  for (let i = 50; i < 53; i++) seen.push(c.observe(step(i, [a, b], 1.4)));
  assert.deepEqual(seen, [null, null, 'drift']);
  await c.idle();
  assert.deepEqual(c.triggers, { 'batch-changed': 2, 'memory-forecast': 0, drift: 1, window: 1, rejected: 0, admission: 0 });
  assert.equal(solver.calls.length, 4);
  // One step ahead: each request is planned one token longer than observed.
  assert.equal(solver.calls[1].requests.find((r) => r.id === 'b')!.contextTokens, 2001);
});

test('controller: the memory forecast fires when current placements will not hold the next step', async () => {
  const blocks = cost.gpuBlocks(1600, { distance: -1, offloaded: [] }, 1);
  const { c } = controllerWith({}, blocks - 1);
  assert.equal(c.observe(step(1, [req('a', 1000)])), 'batch-changed');
  await c.idle();
  assert.equal(c.observe(step(2, [req('a', 1600)])), 'memory-forecast');
});

test('controller: the online Token-Deposit balance reaches the planner, keyed by request id', async () => {
  const { c, solver } = controllerWith();
  // 'fast' streams a token every 10 ms against a 50 ms SLO; 'slow' exactly on the SLO.
  for (let t = 0; t <= 200; t += 10) c.onTokens('fast', t, 1);
  for (let t = 0; t <= 200; t += 50) c.onTokens('slow', t, 1);
  c.observe({ ...step(1, [req('fast', 1000), req('slow', 1000)]), nowMs: 200 });
  await c.idle();
  const byId = new Map(solver.calls[0].requests.map((r) => [r.id, r.depositTokens]));
  assert.ok((byId.get('fast') ?? 0) > 0, `fast deposit ${byId.get('fast')}`);
  assert.equal(byId.get('slow'), 0);
  // Capped at depositCap · W so a plan never treats a request as SLO-proof for longer than its bank lasts.
  assert.ok((byId.get('fast') ?? 0) <= DEFAULT_CONTROLLER.depositCap * DEFAULT_CONTROLLER.windowSteps);
});

test('controller: a request paused longer than maxPauseMs is never a victim again', async () => {
  const { c, solver } = controllerWith({ maxPauseMs: 100 });
  const paused = { ...req('p', 5000), paused: true };
  c.observe({ ...step(1, [req('a', 1000), paused]), nowMs: 0 });
  await c.idle();
  c.observe({ ...step(2, [req('a', 1000), req('b', 10), paused]), nowMs: 150 });
  await c.idle();
  assert.deepEqual(solver.calls[0].noPause, []);
  assert.deepEqual(solver.calls[1].noPause, ['p']);
});

test('controller: a prefill step is no measure of a decode slot: the hold price and the solve budget come from the last decode step', async () => {
  const { c, solver } = controllerWith({ solveBudgetFraction: 1, timeLimitMs: 50 });
  const a = req('a', 1000);
  const waiting = [{ id: 'w', prefillTokens: 500, outputTokens: 64, arrivalMs: 0 }];
  const obs = (n: number, kind: 'decode' | 'prefill', stepMs: number): StepObservation => {
    c.onTokens('a', n * 20, 1);
    return { ...step(n, [a]), kind, stepMs, maxNumSeqs: 16, waiting, batchIds: ['a'] };
  };
  c.observe(obs(1, 'decode', 8));
  await c.idle();
  c.observe(obs(2, 'decode', 8));
  await c.idle();
  // A 400 ms prefill admits b: the batch changed, and the solve it starts must price a slot at the
  // 8 ms decode step, not at the prefill's.
  const b = req('b', 500);
  assert.equal(c.observe({ ...obs(3, 'prefill', 400), requests: [a, b], batchIds: ['a', 'b'] }), 'batch-changed');
  await c.idle();
  const last = solver.calls[solver.calls.length - 1];
  assert.ok(last.admission, 'admission asked');
  assert.ok(last.timeLimitMs <= 8, `solve budget ${last.timeLimitMs} ms from the decode step, not the prefill`);
  // Three good tokens over 40 ms, two decoding: a slot-step is worth rate · 8 ms / 2 (400 ms with the prefill's step).
  const atDecode = (3 / 40) * (8 / 2);
  const price = last.admission.holdCost;
  assert.ok(price > 0.5 * atDecode && price < 2 * atDecode, `hold price ${price}, expected ≈ ${atDecode.toFixed(3)} (not ${(atDecode * 50).toFixed(1)})`);
});
