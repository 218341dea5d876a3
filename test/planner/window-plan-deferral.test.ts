import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitsAllOnGpu, soloStepMs, type AdmissionSettings, type RunningRequest, type WaitingRequest } from '../../src/planner/admission.js';
import { planWindow, type WindowInput } from '../../src/planner/window-plan.js';
import { H100_8B } from './helpers.js';

const cost = H100_8B;
/** 2 GiB of KV for Llama-3.1-8B: a 2k prompt fits the GPU whole, a 40k one only offloaded. */
const BUDGET = cost.budgetBlocksFromGiB(2);
const BIG_TOKENS = 40_000;
const SLOW_SLO = 2_000;

const settings = (over: Partial<AdmissionSettings> = {}): AdmissionSettings => ({
  holdCost: 1, prefillOverheadMs: 0.3, maxCandidates: 16, prefillShare: 0,
  // The run yields a token every ms: the big request alone (a token per solo step) is slower.
  outputRatePerMs: 1,
  nowMs: 100_000, deferDeadlineMs: 110_000, draining: false, ...over,
});
const big = (id = 'big'): WaitingRequest => ({ id, prefillTokens: BIG_TOKENS, outputTokens: 64, waitedMs: 50, sloTpotMs: SLOW_SLO });
const small = (id: string): WaitingRequest => ({ id, prefillTokens: 2_000, outputTokens: 64, waitedMs: 50, sloTpotMs: SLOW_SLO });
const runningShort: RunningRequest = { id: 'r', contextTokens: 2_000, outputTokens: 40, generatedTokens: 10, decodeElapsedMs: 90, sloTpotMs: SLOW_SLO };

function input(running: RunningRequest[], waiting: WaitingRequest[], s: AdmissionSettings): WindowInput {
  return { cost, budgetBlocks: BUDGET, running, paused: [], waiting, freeSeqs: 16 - running.length, admission: s, windowSteps: 16, timeLimitMs: 0 };
}

test('the fixture: the big prompt is beyond vLLM\'s capacity, meets its SLO alone, and yields tokens slower than the run', () => {
  assert.ok(!fitsAllOnGpu(cost.layers, BIG_TOKENS, BUDGET));
  assert.ok(fitsAllOnGpu(cost.layers, 2_000, BUDGET));
  const solo = soloStepMs(cost, BIG_TOKENS, BUDGET, 16);
  assert.ok(solo !== null && solo < SLOW_SLO && 1 / solo < settings().outputRatePerMs, `solo step ${solo} ms`);
});

test('deferred: while others run, a slow request beyond vLLM\'s capacity is neither admitted nor refused, and the rest of the queue goes on', async () => {
  const w = await planWindow(input([runningShort], [big(), small('s')], settings()));
  assert.deepEqual(w.reject, []);
  assert.deepEqual(w.admit.map((a) => a.id), ['s'], 'the request behind it is not held up by it');
  assert.equal(w.servesDeferred, false);
  const alone = await planWindow(input([runningShort], [big()], settings()));
  assert.deepEqual([alone.admit, alone.reject], [[], []]);
  assert.ok(alone.holdSteps > 0, 'the controller looks again at the next finish, not every step');
});

test('deferred: served when nothing else runs or waits and it finishes by the deadline; refused when it would not', async () => {
  const served = await planWindow(input([], [big('b1'), big('b2')], settings()));
  assert.deepEqual(served.admit.map((a) => a.id), ['b1'], 'one at a time, in arrival order');
  assert.equal(served.servesDeferred, true);
  assert.deepEqual(served.reject, []);
  const late = await planWindow(input([], [big('b1'), big('b2')], settings({ deferDeadlineMs: 100_001 })));
  assert.deepEqual(late.admit, []);
  assert.deepEqual(late.reject, ['b1', 'b2'], 'nothing else will come to run: past the deadline they are refused, not left waiting');
  // A request that fits the GPU is served first, whatever its place in the queue.
  const mixed = await planWindow(input([], [big('b1'), small('s')], settings()));
  assert.deepEqual(mixed.admit.map((a) => a.id), ['s']);
  assert.equal(mixed.servesDeferred, false);
});

test('draining: once deferred requests are served, even a fast one beyond vLLM\'s capacity waits for the run to empty', async () => {
  const fast = settings({ outputRatePerMs: 0 });
  const now = await planWindow(input([runningShort], [big()], fast));
  assert.deepEqual(now.admit.map((a) => a.id), ['big'], 'not draining: no slower than the run, so served at once');
  const draining = await planWindow(input([runningShort], [big()], { ...fast, draining: true }));
  assert.deepEqual([draining.admit, draining.reject], [[], []]);
});
