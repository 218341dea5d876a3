import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findModel, getModel } from '../../src/core/model-catalogue.js';
import { CostModel } from '../../src/cost/cost-model.js';
import type { Profile } from '../../src/core/profile-format.js';
import type { TraceRequest } from '../../src/trace/types.js';
import { createRng } from '../../src/core/rng.js';

/**
 * A datasheet-style profile for tests: A100-80GB-class HBM and tensor throughput, a PCIe Gen4 x16
 * link whose achieved bandwidth rises with copy size. Not a measurement; it only has to be plausible
 * and valid, so every engine test runs on the same numbers.
 */
export function testProfile(): Profile {
  const link = [
    { bytes: 4096, gib_per_s: 0.5 },
    { bytes: 65536, gib_per_s: 6 },
    { bytes: 1048576, gib_per_s: 18 },
    { bytes: 67108864, gib_per_s: 24 },
  ];
  return {
    schema: 'orbitflow.profile/v1',
    id: 'engine-test-a100-datasheet',
    provenance: {
      kind: 'datasheet',
      summary: 'engine test fixture (A100-80GB datasheet numbers, PCIe Gen4 x16)',
      tool: null,
      created: '2026-01-01T00:00:00Z',
      host: null,
      gpu: { name: 'NVIDIA A100-SXM4-80GB (fixture)', memory_bytes: 85899345920, sm_count: 108, driver: null, cuda: null, pcie_gen: 4, pcie_width: 16, numa_node: null, hbm_gib_per_s: 1900, dense_tflops: 312 },
      assumptions: [{ what: 'PCIe H2D/D2H bandwidth curve', value: '0.5–24 GiB/s', source: 'engine test fixture' }],
    },
    transfer: { latency_us: 8, h2d_pinned: link, d2h_pinned: link },
    decode: {
      fit: { form: 'roofline', hbm_gib_per_s: 1900, efficiency: 0.7, overhead_ms: 0.02, per_seq_ms: 0.002, source: 'engine test fixture' },
      prefill_efficiency: 0.5,
    },
  };
}

export function testCost(opts: { tp?: number } = {}): CostModel {
  return new CostModel(getModel('llama-3.1-8b'), testProfile(), { tp: opts.tp, modelLookup: findModel });
}

export function writeTestProfile(dir: string): string {
  const file = join(dir, 'engine-test-profile.json');
  writeFileSync(file, JSON.stringify(testProfile(), null, 2));
  return file;
}

/** A seeded synthetic trace: Poisson arrivals, lognormal-ish input and output lengths. */
export function syntheticTrace(n: number, opts: { seed?: number; ratePerS?: number; meanInput?: number; meanOutput?: number } = {}): TraceRequest[] {
  const rng = createRng(opts.seed ?? 1);
  const rate = opts.ratePerS ?? 2;
  const mi = opts.meanInput ?? 4000;
  const mo = opts.meanOutput ?? 200;
  const out: TraceRequest[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += -Math.log(1 - rng.next()) / rate;
    const input = Math.max(16, Math.round(mi * Math.exp(0.6 * rng.normal() - 0.18)));
    const output = Math.max(2, Math.round(mo * Math.exp(0.5 * rng.normal() - 0.125)));
    out.push({ index: i, id: `r${i}`, arrivalS: t, inputTokens: input, outputTokens: output, sourceLine: i + 1 });
  }
  return out;
}
