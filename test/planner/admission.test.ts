import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideAdmission, groupPrefillMs, interruptionCost, type AdmissionSettings, type RunningRequest, type WaitingRequest } from '../../src/planner/admission.js';
import { H100_8B } from './helpers.js';

const cost = H100_8B;
const SLO = 12;
const STEP = 8;
const settings = (holdCost: number): AdmissionSettings => ({ holdCost, prefillOverheadMs: 0.3, maxCandidates: 16, prefillShare: 0, outputRatePerMs: 0.2, nowMs: 0, deferDeadlineMs: 0, draining: false });
const running = (id: string, outputTokens: number, generatedTokens: number): RunningRequest => ({
  id, contextTokens: 2000 + generatedTokens, outputTokens, generatedTokens, decodeElapsedMs: (generatedTokens - 1) * STEP, sloTpotMs: SLO,
});
const waiting = (id: string, prefillTokens: number): WaitingRequest => ({ id, prefillTokens, outputTokens: 64, waitedMs: 100, sloTpotMs: SLO });
const sloFor = (r: { sloTpotMs?: number }) => r.sloTpotMs;

test('interruptionCost: a prefill that eats the last of a request\'s TPOT budget costs its whole output; one that leaves room, at most one gap', () => {
  // 29 tokens at 8 ms under a 12 ms SLO: 28 · 12 = 336 ms of budget, 224 ms of decode, 112 ms of slack.
  const r = running('short', 29, 2);
  const slack = SLO * 28 - r.decodeElapsedMs - 27 * STEP;
  assert.equal(interruptionCost(r, SLO, slack - 1, STEP), 1, 'fits the slack: only the interrupted gap is late');
  assert.equal(interruptionCost(r, SLO, slack + 1, STEP), 1 + 29, 'breaks the TPOT: the whole output');
  assert.equal(interruptionCost(r, SLO, 2, STEP), 0, 'a short prefill breaks nothing');
  assert.equal(interruptionCost(r, undefined, 1000, STEP), 0, 'no SLO, nothing to break');
  // Already lost (the budget is spent): a prefill cannot break it again.
  assert.equal(interruptionCost({ ...r, decodeElapsedMs: 400 }, SLO, 200, STEP), 1);
});

test('decideAdmission: nothing running admits; a prefill that breaks the running batch waits when the hold is cheaper, even if no one else could join', () => {
  const big = waiting('big', 6000);
  const prefill = groupPrefillMs(cost, [big], 0.3);
  assert.ok(prefill > 112, `a 6k prompt's prefill (${prefill.toFixed(0)} ms) breaks a 29-token request's TPOT`);
  const best = { admitted: [big], distances: [-1, -1, -1], stepMs: STEP };
  assert.equal(decideAdmission(cost, [], best, false, [big], settings(1), sloFor, STEP).action, 'admit');
  const batch = [running('a', 29, 2), running('b', 40, 2)];
  const cheap = decideAdmission(cost, batch, best, false, [big], settings(0.1), sloFor, STEP);
  assert.equal(cheap.action, 'hold', cheap.reason);
  assert.equal(cheap.holdSteps, 27, 'until the next finish');
  assert.ok(cheap.interruptionCost > cheap.holdCost);
  // A slot-step worth more than the outputs it would save: admit now.
  const dear = decideAdmission(cost, batch, best, false, [big], settings(10), sloFor, STEP);
  assert.equal(dear.action, 'admit', dear.reason);
  // A prefill that breaks nothing is admitted at once when no one else could join.
  const small = waiting('small', 200);
  assert.equal(decideAdmission(cost, batch, { admitted: [small], distances: [-1, -1, -1], stepMs: STEP }, false, [small], settings(0.1), sloFor, STEP).action, 'admit');
});
