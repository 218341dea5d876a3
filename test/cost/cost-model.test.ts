import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { findModel, getModel } from '../../src/core/model-catalogue.js';
import { OrbitflowError } from '../../src/core/errors.js';
import { placementForDistance, placementFromLayers, type Placement } from '../../src/core/placement.js';
import { createRng } from '../../src/core/rng.js';
import { GIB } from '../../src/core/units.js';
import { CostModel, type StepRequest } from '../../src/cost/cost-model.js';
import { loadProfile } from '../../src/profile/load.js';
import type { Profile } from '../../src/core/profile-format.js';
import { PROFILES } from '../helpers/paths.js';

const A6000 = loadProfile(join(PROFILES, 'a6000-llama-3.1-8b.published-fit.json')).profile;
const A6000_70B = loadProfile(join(PROFILES, 'a6000-llama-3.1-70b-tp4.published-fit.json')).profile;
const H100 = loadProfile(join(PROFILES, 'h100-sxm.datasheet.json')).profile;
const L40S = loadProfile(join(PROFILES, 'l40s.datasheet.json')).profile;
const M8B = getModel('llama-3.1-8b');
const M70B = getModel('llama-3.1-70b');

function randomPlacement(rng: ReturnType<typeof createRng>, layers: number): Placement {
  const kind = rng.int(0, 3);
  if (kind === 0) return placementForDistance(layers, -1);
  if (kind === 1) return placementForDistance(layers, 0);
  if (kind === 2) return placementForDistance(layers, rng.int(1, layers - 1));
  const off: number[] = [];
  for (let l = 0; l < layers; l++) if (rng.next() < 0.3) off.push(l);
  return placementFromLayers(layers, off);
}

test('event evaluation equals the closed form on random batches and placements (400 seeded cases, 3 profiles, 2 models)', () => {
  const setups = [
    new CostModel(M8B, A6000),
    new CostModel(M8B, H100),
    new CostModel(M70B, L40S, { tp: 2 }),
  ];
  let cases = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const rng = createRng(seed);
    const cost = setups[seed % setups.length];
    const n = rng.int(1, 24);
    const reqs: StepRequest[] = [];
    for (let i = 0; i < n; i++) reqs.push({ contextTokens: rng.int(1, 120_000), placement: randomPlacement(rng, cost.layers) });
    const closed = cost.stepTime(reqs);
    const events = cost.stepTimeEvents(reqs);
    const tol = 1e-9 * closed.totalMs;
    assert.ok(Math.abs(closed.totalMs - events.totalMs) <= tol, `seed ${seed}: closed ${closed.totalMs} vs events ${events.totalMs}`);
    assert.ok(Math.abs(closed.transferMs - events.transferMs) <= tol, `seed ${seed}: transfer`);
    assert.equal(closed.bytesMoved, events.bytesMoved, `seed ${seed}: bytes`);
    assert.equal(closed.computeMs, events.computeMs);
    assert.ok(closed.totalMs >= closed.computeMs);
    cases++;
  }
  assert.equal(cases, 400);
});

test('a bounded staging area can only make the event evaluation slower than the closed form', () => {
  const cost = new CostModel(M8B, A6000);
  const rng = createRng(7);
  for (let k = 0; k < 50; k++) {
    const reqs = Array.from({ length: rng.int(1, 8) }, () => ({ contextTokens: rng.int(100, 30_000), placement: randomPlacement(rng, 32) }));
    const closed = cost.stepTime(reqs).totalMs;
    const bounded = cost.stepTimeEvents(reqs, 1).totalMs;
    assert.ok(bounded >= closed * (1 - 1e-12), `case ${k}: ${bounded} < ${closed}`);
  }
});

test('worked example of orbitflow-method.md §4.5 (A6000 fit, 4 × 4000 tokens, 25.19 GiB/s), derived by hand', () => {
  const cost = new CostModel(M8B, A6000);
  // Our per-layer fit divides the artifact's whole-step fit by L = 32:
  //   t_c = (A·x + B)/32 with A = 6.74e-7 s/token, B = 4.06e-2 s, x = Σ context = 16,000 tokens
  //       = (0.010784 + 0.0406) s / 32 = 1.60575 ms.
  // The artifact counts ⌈ctx/16⌉ + 1 = 251 blocks per request (x = 16,064), giving 51.4 ms; our
  // block count is ⌈4000/16⌉ = 250 and x is the plain token sum, so T_allGPU = 32·t_c = 51.384 ms.
  const tc = (6.74e-7 * 16000 + 4.06e-2) * 1000 / 32;
  assert.ok(Math.abs(tc - 1.60575) < 1e-9);
  assert.ok(Math.abs(cost.layerComputeMs(4, 16000) - tc) < 1e-9);
  assert.ok(Math.abs(cost.allOnGpuStepMs(4, 16000) - 51.384) < 1e-9);
  assert.ok(Math.abs(cost.allOnGpuStepMs(4, 16000) - 51.4) < 0.05, 'the artifact rounds to 51.4 ms');
  // One layer of one request: 250 blocks × 65,536 B = 16,384,000 B at 25.19 GiB/s (flat curve).
  const copyMs = (250 * 65536) / (25.19 * GIB) * 1000;
  assert.ok(Math.abs(cost.requestLayerTransferMs(4000) - copyMs) < 1e-12);
  assert.ok(Math.abs(4 * copyMs - 2.423) < 0.001, 'one offloaded layer of the batch: 2.42 ms (artifact, 251 blocks: 2.43 ms)');
  const batch = (d: number[]): StepRequest[] => d.map((x) => ({ contextTokens: 4000, placement: placementForDistance(32, x) }));
  // Uniform d = 1 offloads layers 1, 3, …, 31; the worst row is j = 1: D_1 − 1·t_c = 4·copy − t_c.
  const d1 = 32 * tc + (4 * copyMs - tc);
  assert.ok(Math.abs(cost.stepTime(batch([1, 1, 1, 1])).totalMs - d1) < 1e-9);
  assert.ok(Math.abs(d1 - 52.3) < 0.15, `T_V1 uniform d=1: ${d1} vs the artifact's 52.3 ms`);
  // d = 3, mixed {1,3,7,15} and d = 31 all hide every copy: T = T_allGPU.
  for (const d of [[3, 3, 3, 3], [1, 3, 7, 15], [31, 31, 31, 31]]) {
    assert.ok(Math.abs(cost.stepTime(batch(d)).totalMs - 32 * tc) < 1e-9, `distances ${d}`);
  }
  // GPU per-layer blocks (no growth): resident layers × 250 (the artifact's column uses 251).
  const gpu = (d: number[]): number => d.reduce((s, x) => s + cost.gpuBlocks(4000, placementForDistance(32, x)), 0);
  assert.equal(gpu([1, 1, 1, 1]), 16 * 4 * 250); // artifact 16,064
  assert.equal(gpu([3, 3, 3, 3]), 24 * 4 * 250); // 24,096
  assert.equal(gpu([1, 3, 7, 15]), (16 + 24 + 28 + 30) * 250); // 24,598
  assert.equal(gpu([31, 31, 31, 31]), 31 * 4 * 250); // 31,124
});

test('transfer curve: bandwidth interpolated linearly in log2(size), clamped outside, scaled by bandwidthScale', () => {
  const profile: Profile = structuredClone(A6000);
  profile.transfer.h2d_pinned = [
    { bytes: 1024, gib_per_s: 1 },
    { bytes: 1024 * 1024, gib_per_s: 10 },
  ];
  const cost = new CostModel(M8B, profile);
  // log2(32 KiB) = 15 sits halfway between 10 and 20: 5.5 GiB/s.
  assert.ok(Math.abs(cost.h2dMs(32768) - (32768 / (5.5 * GIB)) * 1000) < 1e-12);
  // Below and above the measured range the nearest end applies.
  assert.ok(Math.abs(cost.h2dMs(100) - (100 / GIB) * 1000) < 1e-12);
  assert.ok(Math.abs(cost.h2dMs(8 * 1024 * 1024) - ((8 * 1024 * 1024) / (10 * GIB)) * 1000) < 1e-12);
  assert.equal(cost.h2dMs(0), 0);
  const half = new CostModel(M8B, profile, { bandwidthScale: 0.5 });
  assert.ok(Math.abs(half.h2dMs(32768) - 2 * cost.h2dMs(32768)) < 1e-12);
  // A KV-shaped curve, when the profile has one, is what a fetch uses.
  profile.transfer.kv_block_h2d = [{ bytes: 65536, gib_per_s: 2, block_bytes: 65536, method: 'memcpy-batch' }];
  const kv = new CostModel(M8B, profile);
  assert.ok(Math.abs(kv.requestLayerTransferMs(16) - (65536 / (2 * GIB)) * 1000) < 1e-12);
});

test('--tp N: KV heads, link bytes and a fit measured at another TP degree scale by N', () => {
  const tp4 = new CostModel(M70B, A6000_70B, { tp: 4 });
  const tp1 = new CostModel(M70B, A6000_70B, { tp: 1 });
  // 70B: 8 KV heads, 2 per rank at TP 4: one block is 16 · 2 · 2 · 128 · 2 B = 16 KiB.
  assert.equal(tp4.blockBytes, 16384);
  assert.equal(tp1.blockBytes, 65536);
  assert.equal(tp4.requestLayerBytes(4000), 250 * 16384);
  assert.ok(Math.abs(tp1.requestLayerTransferMs(4000) - 4 * tp4.requestLayerTransferMs(4000)) < 1e-12);
  // The fit was measured at TP 4: used at TP 4 as is; at TP 1 its per-rank terms grow 4×.
  const fit = A6000_70B.decode.fit;
  assert.equal(fit.form, 'linear');
  if (fit.form !== 'linear') return;
  assert.ok(Math.abs(tp4.layerComputeMs(8, 40000) - (fit.base_ms + fit.per_token_ms * 40000)) < 1e-12);
  assert.ok(Math.abs(tp1.layerComputeMs(8, 40000) - 4 * tp4.layerComputeMs(8, 40000)) < 1e-12);
  // Budgets are per rank: 8 GiB holds 4× the blocks at TP 4.
  assert.equal(tp4.budgetBlocksFromGiB(8), 4 * tp1.budgetBlocksFromGiB(8));
  // A roofline fit reads 1/N of the weights and KV per rank.
  const r1 = new CostModel(M70B, H100, { tp: 1 });
  const r2 = new CostModel(M70B, H100, { tp: 2 });
  const f = H100.decode.fit;
  assert.equal(f.form, 'roofline');
  if (f.form !== 'roofline') return;
  const noOverhead = (c: CostModel): number => c.layerComputeMs(1, 10000) - f.overhead_ms - f.per_seq_ms;
  assert.ok(Math.abs(noOverhead(r1) - 2 * noOverhead(r2)) < 1e-9);
  assert.throws(() => new CostModel(M70B, H100, { tp: 3 }), (e: unknown) => OrbitflowError.is(e) && e.exitCode === 2 && /--tp: 3 does not divide/.test(e.message));
});

test('GPU memory of a placement keeps headroom for W tokens of growth', () => {
  const cost = new CostModel(M8B, A6000);
  const d1 = placementForDistance(32, 1);
  // 16 resident layers; 4000 + 16 tokens → ⌈4016/16⌉ = 251 blocks each.
  assert.equal(cost.gpuBlocks(4000, d1, 16), 16 * 251);
  assert.equal(cost.gpuBlocks(4000, d1, 0), 16 * 250);
  // 4001 tokens already need a 251st block; 15 more tokens of growth fit in it.
  assert.equal(cost.gpuBlocks(4001, placementForDistance(32, -1), 15), 32 * 251);
  assert.equal(cost.gpuBlocks(4001, placementForDistance(32, 0), 16), 0);
  assert.equal(cost.budgetBlocksFromGiB(8), (8 * GIB) / 65536);
});

test('a linear fit is refused for a model of another shape, accepted for one of the same shape', () => {
  assert.throws(() => new CostModel(M70B, A6000), (e: unknown) => OrbitflowError.is(e) && e.code === 'OF_COST_FIT_MODEL' && e.exitCode === 2);
  // Mistral-7B-v0.3 has Llama-3.1-8B's layer shape (32 layers, 8 KV heads of 128, 4096 / 14336).
  const m = new CostModel(getModel('mistral-7b-v0.3'), A6000, { modelLookup: findModel });
  assert.ok(m.layerComputeMs(1, 1000) > 0);
});
