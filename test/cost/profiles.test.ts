import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { getModel } from '../../src/core/model-catalogue.js';
import { GIB } from '../../src/core/units.js';
import { CostModel } from '../../src/cost/cost-model.js';
import { provenanceLine } from '../../src/core/profile-format.js';
import { loadProfile } from '../../src/profile/load.js';
import { PROFILES } from '../helpers/paths.js';

const files = readdirSync(PROFILES).filter((f) => f.endsWith('.json')).sort();

test('every shipped profile loads, validates and says it was not measured', () => {
  assert.equal(files.length, 8);
  for (const f of files) {
    const { profile, sha256 } = loadProfile(join(PROFILES, f));
    assert.match(sha256, /^[0-9a-f]{64}$/);
    assert.equal(`${profile.id}.json`, f, 'file name = id + .json');
    assert.notEqual(profile.provenance.kind, 'measured', f);
    assert.ok(profile.provenance.assumptions.length >= 5, f);
    assert.match(provenanceLine(profile), new RegExp(`^profile ${profile.id.replace(/\./g, '\\.')} \\(NOT MEASURED: `));
    assert.ok((profile.provenance.gpu.dense_tflops ?? 0) > 0, `${f}: dense_tflops`);
    assert.ok((profile.provenance.gpu.hbm_gib_per_s ?? 0) > 0, `${f}: hbm_gib_per_s`);
    for (const a of profile.provenance.assumptions) assert.ok(a.source.length > 10, `${f}: ${a.what} needs a source`);
  }
});

// orbitflow-method.md §14.2: the artifact's NoPrefetch fits, whole-step seconds = A·x + B over Σ context tokens x.
const PUBLISHED = [
  { file: 'a100-llama-3.1-8b.published-fit.json', A: 8.89e-7, B: 4.83e-2, r2: 0.943, L: 32, model: 'llama-3.1-8b', tp: 1 },
  { file: 'a6000-llama-3.1-8b.published-fit.json', A: 6.74e-7, B: 4.06e-2, r2: 0.8078, L: 32, model: 'llama-3.1-8b', tp: 1 },
  { file: 'a5000-llama-3.1-8b.published-fit.json', A: 9.63e-7, B: 4.95e-2, r2: 0.692, L: 32, model: 'llama-3.1-8b', tp: 2 },
  { file: 'a6000-llama-3.1-70b-tp4.published-fit.json', A: 1.16e-6, B: 1.32e-1, r2: 0.5, L: 80, model: 'llama-3.1-70b', tp: 4 },
];

test('published fits convert as documented: per-layer base_ms = B·1000/L, per_token_ms = A·1000/L, flat 25.19 GiB/s link', () => {
  for (const p of PUBLISHED) {
    const { profile } = loadProfile(join(PROFILES, p.file));
    assert.equal(profile.provenance.kind, 'published-fit');
    const f = profile.decode.fit;
    assert.equal(f.form, 'linear', p.file);
    if (f.form !== 'linear') continue;
    assert.equal(f.model, p.model);
    assert.equal(f.tp, p.tp);
    assert.equal(f.per_seq_ms, 0);
    assert.equal(f.r2, p.r2);
    assert.ok(Math.abs(f.base_ms - (p.B * 1000) / p.L) < 1e-12, `${p.file}: base_ms`);
    assert.ok(Math.abs(f.per_token_ms - (p.A * 1000) / p.L) < 1e-15, `${p.file}: per_token_ms`);
    for (const pt of [...profile.transfer.h2d_pinned, ...profile.transfer.d2h_pinned]) assert.equal(pt.gib_per_s, 25.19);
    // The whole step at the fit's own TP is the artifact's A·x + B again.
    const cost = new CostModel(getModel(p.model), profile, { tp: p.tp });
    assert.ok(Math.abs(cost.allOnGpuStepMs(4, 20000) - (p.A * 20000 + p.B) * 1000) < 1e-9, `${p.file}: step`);
    assert.ok(Math.abs(cost.h2dMs(GIB) - 1000 / 25.19) < 1e-9);
  }
});

test('datasheet profiles: the size curve is latency + bytes / peak, and the roofline serves any model', () => {
  const sheets = files.filter((f) => f.includes('.datasheet.'));
  assert.deepEqual(sheets, ['h100-pcie.datasheet.json', 'h100-sxm.datasheet.json', 'h200.datasheet.json', 'l40s.datasheet.json']);
  for (const f of sheets) {
    const { profile } = loadProfile(join(PROFILES, f));
    assert.equal(profile.provenance.kind, 'datasheet');
    const lat = (profile.transfer.latency_us ?? 0) / 1e6;
    assert.ok(lat > 0, f);
    const pts = profile.transfer.h2d_pinned;
    const last = pts[pts.length - 1];
    const peak = last.bytes / (last.bytes / (last.gib_per_s * GIB) - lat);
    for (const pt of pts) {
      const t = pt.bytes / (pt.gib_per_s * GIB);
      const model = lat + pt.bytes / peak;
      assert.ok(Math.abs(t - model) / model < 1e-5, `${f} @ ${pt.bytes} B: ${t} vs ${model}`);
    }
    // PCIe gen 4 → ~29.3 GiB/s theoretical, gen 5 → ~58.7; the assumed achieved fraction is 0.85.
    const theoretical = ((profile.provenance.gpu.pcie_gen === 5 ? 32 : 16) * 16 * (128 / 130)) / 8 * 1e9 / GIB;
    assert.ok(Math.abs(peak / GIB - 0.85 * theoretical) / theoretical < 1e-4, `${f}: peak ${peak / GIB}`);
    for (const id of ['llama-3.1-8b', 'llama-3.1-70b', 'qwen2.5-7b']) {
      const c = new CostModel(getModel(id), profile);
      assert.ok(c.layerComputeMs(8, 50_000) > c.layerComputeMs(8, 10_000), `${f} ${id}`);
      assert.ok(c.prefillMs(2048) > 0);
    }
  }
});
