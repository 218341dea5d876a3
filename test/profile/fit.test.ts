import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/core/rng.js';
import { fitDecodeLinear, upperEnvelope, type DecodeSample } from '../../src/profile/fit.js';
import { handFit, relClose } from './hand-fit.js';

const BATCHES = [1, 2, 4, 8, 16, 32, 64];
const CONTEXTS = [256, 1024, 4096, 16384];

function grid(coef: { base: number; perSeq: number; perToken: number }, noise?: { seed: number; sd: number }): DecodeSample[] {
  const rng = noise ? createRng(noise.seed) : null;
  const out: DecodeSample[] = [];
  for (const b of BATCHES) {
    for (const c of CONTEXTS) {
      const x = b * c;
      out.push({ batch: b, contextTokens: x, ms: coef.base + coef.perSeq * b + coef.perToken * x + (rng ? noise!.sd * rng.normal() : 0) });
    }
  }
  return out;
}

test('exact linear data: the fit recovers the coefficients, R² = 1, no residual', () => {
  const truth = { base: 0.151, perSeq: 0.00213, perToken: 2.13e-6 };
  const fit = fitDecodeLinear(grid(truth));
  assert.ok(relClose(fit.baseMs, truth.base, 1e-9), `base ${fit.baseMs}`);
  assert.ok(relClose(fit.perSeqMs, truth.perSeq, 1e-9), `per_seq ${fit.perSeqMs}`);
  assert.ok(relClose(fit.perTokenMs, truth.perToken, 1e-9), `per_token ${fit.perTokenMs}`);
  assert.ok(Math.abs(1 - fit.r2) < 1e-12);
  assert.ok(Math.abs(fit.maxResidualMs) < 1e-12 && Math.abs(fit.minResidualMs) < 1e-12);
  assert.deepEqual(fit.clamped, []);
  assert.equal(fit.points, BATCHES.length * CONTEXTS.length);
  assert.ok(Math.abs(upperEnvelope(fit).raisedByMs) < 1e-12);
});

test('seeded noise: the fit equals the hand-computed least squares and lands near the truth', () => {
  const truth = { base: 0.15, perSeq: 0.0012, perToken: 1.6e-6 };
  for (const seed of [1, 2, 3]) {
    const samples = grid(truth, { seed, sd: 0.003 });
    const fit = fitDecodeLinear(samples);
    const hand = handFit(samples.map((s) => ({ b: s.batch, x: s.contextTokens, y: s.ms })));
    assert.ok(relClose(fit.baseMs, hand.base, 1e-7), `seed ${seed}: base ${fit.baseMs} vs ${hand.base}`);
    assert.ok(relClose(fit.perSeqMs, hand.perSeq, 1e-6), `seed ${seed}: per_seq ${fit.perSeqMs} vs ${hand.perSeq}`);
    assert.ok(relClose(fit.perTokenMs, hand.perToken, 1e-7), `seed ${seed}: per_token ${fit.perTokenMs} vs ${hand.perToken}`);
    // 28 points with 3 µs of noise pin the truth down to a few per cent.
    assert.ok(relClose(fit.baseMs, truth.base, 0.03), `seed ${seed}: base ${fit.baseMs}`);
    assert.ok(relClose(fit.perTokenMs, truth.perToken, 0.02), `seed ${seed}: per_token ${fit.perTokenMs}`);
    assert.ok(fit.r2 > 0.99 && fit.r2 < 1);
    // Residuals are measured − fitted, and the upper envelope lies on or above every sample.
    samples.forEach((s, i) => {
      const fitted = fit.baseMs + fit.perSeqMs * s.batch + fit.perTokenMs * s.contextTokens;
      assert.ok(Math.abs(s.ms - fitted - fit.residualsMs[i]) < 1e-12);
    });
    const up = upperEnvelope(fit).baseMs;
    assert.ok(up > fit.baseMs);
    for (const s of samples) assert.ok(up + fit.perSeqMs * s.batch + fit.perTokenMs * s.contextTokens >= s.ms - 1e-12);
    assert.ok(samples.some((s) => Math.abs(up + fit.perSeqMs * s.batch + fit.perTokenMs * s.contextTokens - s.ms) < 1e-12), 'the envelope touches a sample');
    const sse = fit.residualsMs.reduce((a, e) => a + e * e, 0);
    assert.ok(Math.abs(fit.rmseMs - Math.sqrt(sse / samples.length)) < 1e-15);
  }
});

test('a negative slope in the data is held at 0 and the rest refitted (non-negative least squares)', () => {
  // Per-sequence cost falls with batch here: plain least squares would give a negative slope.
  const samples = grid({ base: 0.2, perSeq: -0.002, perToken: 2e-6 }, { seed: 9, sd: 0.001 });
  const fit = fitDecodeLinear(samples);
  assert.deepEqual(fit.clamped, ['per_seq_ms']);
  assert.equal(fit.perSeqMs, 0);
  assert.ok(fit.baseMs >= 0 && fit.perTokenMs >= 0);
  // With per_seq at 0 the answer is the least squares of y on (1, x): compare by hand.
  const n = samples.length;
  const mx = samples.reduce((a, s) => a + s.contextTokens, 0) / n;
  const my = samples.reduce((a, s) => a + s.ms, 0) / n;
  const sxy = samples.reduce((a, s) => a + (s.contextTokens - mx) * (s.ms - my), 0);
  const sxx = samples.reduce((a, s) => a + (s.contextTokens - mx) ** 2, 0);
  assert.ok(relClose(fit.perTokenMs, sxy / sxx, 1e-7));
  assert.ok(relClose(fit.baseMs, my - (sxy / sxx) * mx, 1e-7));
});

test('too few points is an error, a degenerate design still fits', () => {
  assert.throws(() => fitDecodeLinear([{ batch: 1, contextTokens: 1, ms: 1 }, { batch: 2, contextTokens: 2, ms: 2 }]), RangeError);
  // Every sample has batch 4: batch and the intercept are collinear, the fit falls back to a support that is not.
  const fit = fitDecodeLinear([1000, 2000, 4000, 8000].map((x) => ({ batch: 4, contextTokens: x, ms: 0.1 + 1e-5 * x })));
  assert.ok(fit.r2 > 0.999999);
  const at = (x: number): number => fit.baseMs + fit.perSeqMs * 4 + fit.perTokenMs * x;
  assert.ok(Math.abs(at(3000) - (0.1 + 1e-5 * 3000)) < 1e-9);
});
