import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DepositTracker } from '../../src/controller/deposit-tracker.js';
import { DriftCorrector } from '../../src/controller/drift-corrector.js';

test('deposit: tokens faster than the SLO are banked and released at the SLO cadence', () => {
  const d = new DepositTracker();
  d.register('a', 10);
  d.onTokens('a', 0, 1); // first token: delivered at once
  d.onTokens('a', 2, 1);
  d.onTokens('a', 4, 1);
  d.onTokens('a', 6, 1);
  assert.equal(d.balance('a', 6), 3);
  assert.equal(d.balance('a', 10), 2); // one released at 10
  assert.equal(d.balance('a', 25), 1); // next due at 20
  assert.equal(d.balance('a', 31), 0); // next due at 30
  d.onTokens('a', 100, 1); // a slow token is due at once: nothing banked
  assert.equal(d.balance('a', 100), 0);
});

test('deposit: keyed per request, several tokens per chunk, unknown ids are zero', () => {
  const d = new DepositTracker();
  d.register('r1', 20);
  d.register('r2', 5);
  d.onTokens('r1', 0, 4); // first chunk carries 4 tokens: 1 delivered, 3 banked
  d.onTokens('r2', 0, 1);
  d.onTokens('r2', 1, 1);
  assert.equal(d.balance('r1', 1), 3);
  assert.equal(d.balance('r2', 1), 1);
  assert.equal(d.balance('nobody', 1), 0);
  d.forget('r1');
  assert.equal(d.balance('r1', 1), 0);
});

test('drift: a steady 30 % slower engine fires after K steps and the correction converges', () => {
  const c = new DriftCorrector({ tolerance: 0.15, consecutiveSteps: 3, alpha: 0.5 });
  const sample = { predictedComputeMs: 10, predictedTransferMs: 4, predictedTotalMs: 12, measuredComputeMs: 13, measuredTransferMs: 4, measuredTotalMs: 15.6 };
  assert.equal(c.observe(sample, 12), false);
  assert.equal(c.observe(sample, 12), false);
  assert.equal(c.observe(sample, 12), true);
  for (let i = 0; i < 20; i++) c.observe(sample, 15.6);
  assert.ok(Math.abs(c.computeScale - 1.3) < 1e-3, `computeScale ${c.computeScale}`);
  assert.ok(Math.abs(c.bandwidthScale - 1) < 1e-9);
  // Once the prediction matches, nothing fires.
  for (let i = 0; i < 10; i++) assert.equal(c.observe(sample, 15.6), false);
});
