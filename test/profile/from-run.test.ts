import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/core/rng.js';
import { fitDecodeFromGaps } from '../../src/profile/from-run/decode-fit.js';
import { fitPrefillEfficiency } from '../../src/profile/from-run/prefill-fit.js';
import { reconstruct } from '../../src/profile/from-run/reconstruct.js';
import { robustNnls } from '../../src/profile/from-run/robust-fit.js';
import type { RunLine } from '../../src/profile/from-run/run-dir.js';

function line(index: number, sent: number, prompt: number, absTimes: number[]): RunLine {
  return {
    index, id: `r${index}`, arrival_s: sent / 1000, input_tokens: prompt, expected_output_tokens: absTimes.length, status: 'ok',
    sent_ms: sent, prompt_tokens: prompt, output_tokens: absTimes.length, chunk_ms: absTimes.map((t) => t - sent), chunk_tokens: null,
  };
}

test('reconstruct: batches and contexts of a hand-built schedule; a gap with a prefill in it is left out; the prefill step net of queueing', () => {
  // Engine steps (ms): A prefilled alone 0→50; decode steps end at 90, 130 (A alone); B arrives at
  // 100, is prefilled 130→200 (A stalls); then A+B decode: 240, 280; A ends at 280, B decodes 310.
  const a = line(0, 0, 100, [50, 90, 130, 240, 280]);
  const b = line(1, 100, 300, [200, 240, 280, 310]);
  const r = reconstruct([a, b], null);
  // A's gaps: 50→90 (batch {A}, ctx 100+2−1), 90→130 ({A}, 102), 130→240 has B's first token: out,
  // 240→280 ({A,B}: A ctx 104, B ctx 302). B's gaps: 200→240 ({A,B} at 240: A 103, B 301), 240→280 (A 104 + B 302), 280→310 ({B}, 303).
  const got = r.decode.map((s) => [s.tMs, s.batch, s.contextTokens, s.ms]).sort((x, y) => x[0] - y[0] || x[3] - y[3]);
  assert.deepEqual(got, [
    [90, 1, 101, 40],
    [130, 1, 102, 40],
    [240, 2, 103 + 301, 40],
    [280, 2, 104 + 302, 40],
    [280, 2, 104 + 302, 40],
    [310, 1, 303, 30],
  ]);
  assert.equal(r.skipped.prefill_in_gap, 1);
  // Prefill steps: A at 0→50 (sent 0, nothing before); B's step began at 130 (A's token), after B was sent at 100.
  assert.deepEqual(r.prefill.map((p) => [p.prompts, p.ms]), [[[100], 50], [[300], 70]]);
});

test('reconstruct: requests prefilled together form one prefill step; bundled chunks and zero gaps are left out; telemetry is matched by time', () => {
  const a = line(0, 0, 10, [40, 60, 80]);
  const b = line(1, 1, 20, [40.4, 60.2, 80.1]);
  const c: RunLine = { ...line(2, 2, 5, [40.2, 60.3, 80.3]), chunk_tokens: [1, 2, 1] };
  const r = reconstruct([a, b, c], [{ t_s: 0.06, running: 3 }, { t_s: 1.06, running: 0 }]);
  assert.equal(r.prefill.length, 1);
  assert.deepEqual(r.prefill[0].prompts, [10, 5, 20]);
  assert.equal(r.prefill[0].ms, 40 - 2);
  assert.equal(r.skipped.bundled_tokens, 1);
  for (const s of r.decode) assert.equal(s.batch, 3);
  assert.equal(r.decode.find((s) => Math.abs(s.tMs - 60) < 1)!.telemetryRunning, 3);
});

test('robust NNLS: recovers coefficients through outliers that plain least squares follows; a negative coefficient is held at 0', () => {
  const rng = createRng(3);
  const n = 400;
  const ones = new Float64Array(n).fill(1);
  const x1 = Float64Array.from({ length: n }, () => 1 + Math.floor(rng.next() * 20));
  const x2 = Float64Array.from({ length: n }, () => rng.next() * 50_000);
  const y = Float64Array.from({ length: n }, (_, i) => 40 + 0.5 * x1[i] + 0.001 * x2[i] + rng.normal() * 0.5);
  for (let i = 0; i < n; i += 20) y[i] += 500; // 5 % of gaps with a stall the model does not see
  const f = robustNnls([ones, x1, x2], y);
  assert.ok(Math.abs(f.coef[0] - 40) / 40 < 0.02, `base ${f.coef[0]}`);
  assert.ok(Math.abs(f.coef[1] - 0.5) / 0.5 < 0.05, `per-seq ${f.coef[1]}`);
  assert.ok(Math.abs(f.coef[2] - 0.001) / 0.001 < 0.02, `per-token ${f.coef[2]}`);
  const plain = robustNnls([ones, x1, x2], y, { maxIterations: 1 });
  assert.ok(plain.coef[0] > 55, `one plain least-squares round is pulled up by the stalls (${plain.coef[0]})`);
  const down = Float64Array.from({ length: n }, (_, i) => 100 - 0.3 * x1[i]);
  const g = robustNnls([ones, x1], down);
  assert.deepEqual(g.clamped, [1]);
  assert.equal(g.coef[1], 0);
});

test('decode fit: per-layer coefficients are the step coefficients over L; residual statistics are reported', () => {
  const rng = createRng(9);
  const samples = Array.from({ length: 300 }, () => {
    const batch = 1 + Math.floor(rng.next() * 16);
    const contextTokens = batch * (500 + rng.next() * 6000);
    const ms = (32 * (1.2 + 0.001 * batch + 2e-5 * contextTokens)) * (1 + 0.03 * rng.normal());
    return { batch, contextTokens, ms, tMs: 0, telemetryRunning: null };
  });
  const f = fitDecodeFromGaps(samples, 32);
  assert.ok(Math.abs(f.baseMs - 1.2) / 1.2 < 0.05, `${f.baseMs}`);
  assert.ok(Math.abs(f.perTokenMs - 2e-5) / 2e-5 < 0.05, `${f.perTokenMs}`);
  assert.ok(Math.abs(f.step.baseMs - 32 * f.baseMs) < 1e-9);
  assert.ok(f.residualCv > 0.02 && f.residualCv < 0.04, `noise seen ${f.residualCv}`);
  assert.ok(f.residualRel.p50 < f.residualRel.p99);
});

test('prefill fit: the efficiency of a FLOP-bound prefill is recovered; prefills all under the decode floor leave it unidentified', () => {
  const truth = 0.37;
  const predict = (eff: number, prompts: readonly number[]): number => prompts.reduce((s, n) => s + Math.max((0.05 * n + 1e-6 * n * n) / eff, 40 + 0.001 * n), 0);
  const samples = [400, 1200, 3000, 7000, 15000, 900, 2500].map((n, i) => ({ prompts: i % 3 === 0 ? [n, 300] : [n], ms: 0, tMs: 0 }));
  for (const s of samples) s.ms = predict(truth, s.prompts);
  const f = fitPrefillEfficiency(samples, predict, 0.5);
  assert.ok(f.identified);
  assert.ok(Math.abs(f.efficiency - truth) / truth < 1e-3, `${f.efficiency}`);
  const short = [20, 30, 40].map((n) => ({ prompts: [n], ms: predict(truth, [n]), tMs: 0 }));
  const g = fitPrefillEfficiency(short, predict, 0.5);
  assert.deepEqual([g.identified, g.efficiency], [false, 0.5]);
});
