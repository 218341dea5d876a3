import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrbitflowError } from '../../src/core/errors.js';
import { getModel } from '../../src/core/model-catalogue.js';
import { placementForDistance } from '../../src/core/placement.js';
import { CostModel } from '../../src/cost/cost-model.js';
import { buildProfile, gpuSlug, profileId } from '../../src/profile/build-profile.js';
import { provenanceLine } from '../../src/core/profile-format.js';
import { loadProfile } from '../../src/profile/load.js';
import { parseProbeOutput } from '../../src/profile/probe-output.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { handFit, relClose } from './hand-fit.js';
import { GRID_NOISE_MS, TRUE_DECODE } from './synthetic-probe.js';

const FIXTURE = join(REPO_ROOT, 'test/fixtures/probe-output.json');
const text = readFileSync(FIXTURE, 'utf8');
const probe = parseProbeOutput(text, FIXTURE);
const model = getModel('llama-3.1-8b');

function build(upper = false) {
  return buildProfile({ probe, probeFile: FIXTURE, probeSha256: 'f'.repeat(64), model, tp: 1, toolVersion: '0.1.0', upper });
}

test('the fixture becomes a valid profile v1 whose fit matches a hand computation', () => {
  const { profile, fit } = build();
  const dir = mkdtempSync(join(tmpdir(), 'of-profile-'));
  try {
    const file = join(dir, 'p.json');
    writeFileSync(file, JSON.stringify(profile));
    assert.deepEqual(loadProfile(file).profile, JSON.parse(JSON.stringify(profile)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const hand = handFit(probe.decode.grid.map((g) => ({ b: g.batch, x: g.context_tokens, y: g.layer_ms })));
  const f = profile.decode.fit;
  assert.equal(f.form, 'linear');
  if (f.form !== 'linear') return;
  // The profile stores six significant digits.
  assert.ok(relClose(f.base_ms, hand.base, 1e-5), `base ${f.base_ms} vs ${hand.base}`);
  assert.ok(relClose(f.per_seq_ms, hand.perSeq, 1e-5), `per_seq ${f.per_seq_ms} vs ${hand.perSeq}`);
  assert.ok(relClose(f.per_token_ms, hand.perToken, 1e-5), `per_token ${f.per_token_ms} vs ${hand.perToken}`);
  assert.equal(f.model, 'llama-3.1-8b');
  assert.equal(f.tp, 1);
  // 12 points with 4 µs of seeded noise: close to the coefficients the fixture was made from.
  assert.ok(Math.abs(f.base_ms - TRUE_DECODE.baseMs) < 3 * GRID_NOISE_MS);
  assert.ok(relClose(f.per_token_ms, TRUE_DECODE.perTokenMs, 0.05));
  // Upper envelope: same slopes, intercept raised by the largest residual.
  const up = profile.decode.upper_fit!;
  assert.ok(up.form === 'linear');
  if (up.form !== 'linear') return;
  assert.equal(up.per_seq_ms, f.per_seq_ms);
  assert.equal(up.per_token_ms, f.per_token_ms);
  const maxResidual = Math.max(...probe.decode.grid.map((g) => g.layer_ms - (hand.base + hand.perSeq * g.batch + hand.perToken * g.context_tokens)));
  assert.ok(Math.abs(up.base_ms - (hand.base + maxResidual)) < 1e-6, `upper ${up.base_ms} vs ${hand.base + maxResidual}`);
  assert.equal(profile.decode.fit_stats?.points, 12);
  assert.ok(Math.abs(fit.maxResidualMs - maxResidual) < 1e-9);
});

test('a synthetic probe output never becomes a measured profile', () => {
  const { profile } = build();
  assert.equal(profile.provenance.kind, 'synthetic');
  assert.match(provenanceLine(profile), /NOT MEASURED: synthetic/);
  assert.match(profile.provenance.summary, /^SYNTHETIC/);
  assert.ok(profile.provenance.assumptions.some((a) => a.what === 'every measurement' && a.value === 'synthetic'));
  assert.equal(profile.provenance.probe?.synthetic, true);
  // Real output (synthetic false) is measured.
  const real = buildProfile({ probe: { ...probe, synthetic: false }, probeFile: FIXTURE, probeSha256: 'a'.repeat(64), model, tp: 1, toolVersion: '0.1.0', upper: false });
  assert.equal(real.profile.provenance.kind, 'measured');
  assert.ok(!real.profile.provenance.assumptions.some((a) => a.what === 'every measurement'));
});

test('transfer curves, KV-shaped points, contention and provenance come from the probe', () => {
  const { profile } = build();
  const t = profile.transfer;
  assert.equal(t.h2d_pinned.length, probe.bandwidth.h2d_pinned.length);
  assert.equal(t.latency_us, probe.bandwidth.latency.h2d_pinned_4k_us);
  assert.deepEqual(t.kv_block_h2d!.map((p) => p.bytes), probe.kv.points.map((p) => p.bytes));
  assert.ok(t.kv_block_h2d!.every((p) => p.method === 'memcpy-batch' && p.block_bytes === 65536));
  assert.ok(relClose(t.kv_block_h2d![2].gib_per_s, probe.kv.points[2].memcpy_batch.gib_per_s, 1e-5));
  assert.ok(t.kv_block_h2d_gather!.every((p) => p.method === 'gather-kernel'));
  assert.equal(t.h2d_under_decode!.gib_per_s, 47.9);
  assert.equal(t.h2d_under_decode!.plain_gib_per_s, 51.8);
  assert.equal(t.h2d_under_decode!.kv_shaped!.tokens, 4096);
  const g = profile.provenance.gpu;
  assert.equal(g.hbm_gib_per_s, 2850);
  assert.equal(g.pcie_gen, 5);
  assert.equal(g.numa_node, 0);
  // The name matches the H100 datasheet row: dense throughput is an assumption with its source.
  assert.equal(g.dense_tflops, 989.4);
  assert.equal(g.dense_tflops_source, 'datasheet');
  assert.ok(profile.provenance.assumptions.some((a) => /dense/.test(a.what) && /datasheet/i.test(a.source)));
  assert.equal(profile.id, 'synthetic-h100-like-gpu-llama-3.1-8b');
});

test('validation points are the cost model’s predictions from the new profile against the measured steps', () => {
  for (const upper of [false, true]) {
    const { profile } = build(upper);
    const cost = new CostModel(model, profile, { upper });
    assert.equal(profile.validation!.length, probe.validate!.scenarios.length);
    profile.validation!.forEach((v, i) => {
      const sc = probe.validate!.scenarios[i];
      const predicted = cost.stepTime(sc.requests.map((r) => ({ contextTokens: r.context_tokens, placement: placementForDistance(32, r.distance) }))).totalMs;
      assert.ok(relClose(v.predicted_ms, predicted, 1e-5), `${v.label}: ${v.predicted_ms} vs ${predicted}`);
      assert.ok(relClose(v.measured_ms, sc.step_ms, 1e-5));
      assert.ok(Math.abs(v.error_pct - ((predicted - sc.step_ms) / sc.step_ms) * 100) < 1e-3);
      assert.equal(v.predicted_with, upper ? 'upper_fit' : 'fit');
      assert.deepEqual(v.distances, sc.requests.map((r) => r.distance));
    });
    // The synthetic steps were made within ±6 % of the same physics.
    assert.ok(profile.validation!.every((v) => Math.abs(v.error_pct) < 10), JSON.stringify(profile.validation!.map((v) => v.error_pct)));
  }
});

test('a profile for another model shape than the probe measured is refused, naming the field', () => {
  assert.throws(
    () => buildProfile({ probe, probeFile: FIXTURE, probeSha256: 'f'.repeat(64), model: getModel('llama-3.1-70b'), tp: 1, toolVersion: '0.1.0', upper: false }),
    (e: unknown) => OrbitflowError.is(e) && e.exitCode === 2 && e.context.field === 'model.layers' && e.message.startsWith(`${FIXTURE}: model.layers: the probe measured 32`),
  );
  assert.throws(
    () => buildProfile({ probe, probeFile: FIXTURE, probeSha256: 'f'.repeat(64), model, tp: 2, toolVersion: '0.1.0', upper: false }),
    (e: unknown) => OrbitflowError.is(e) && e.context.field === 'model.tp',
  );
});

test('profile ids are slugs of the GPU name and the model', () => {
  assert.equal(gpuSlug('NVIDIA H100 80GB HBM3'), 'h100-80gb-hbm3');
  assert.equal(gpuSlug('NVIDIA A100-SXM4-80GB'), 'a100-sxm4-80gb');
  assert.equal(profileId('NVIDIA L40S', 'llama-3.1-70b', 4), 'l40s-llama-3.1-70b-tp4');
  assert.equal(profileId('NVIDIA L40S', 'llama-3.1-8b', 1), 'l40s-llama-3.1-8b');
});
