import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '../../src/core/rng.js';
import { cv, mean } from '../../src/core/stats.js';
import { generateTrace, interArrivalSampler, lengthSampler, lognormalParams, type ArrivalProcess } from '../../src/trace/generators.js';
import { formatAzureCsv, formatMooncakeJsonl, formatOrbitflowJson } from '../../src/trace/writers.js';
import { SAMPLE_ORBITFLOW_STEP_MS, sampleTraces } from '../../src/trace/make-samples.js';
import { loadTrace } from '../../src/trace/open.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { fixtureDir } from './fixtures.js';

const fx = fixtureDir();
after(() => fx.cleanup());

function gaps(p: ArrivalProcess, n: number, seed: number): number[] {
  const next = interArrivalSampler(p, createRng(seed));
  return Array.from({ length: n }, next);
}

test('arrival processes: mean rate and inter-arrival CV match their parameters (20,000 seeded gaps)', () => {
  const cases: [ArrivalProcess, number][] = [
    [{ kind: 'poisson', ratePerS: 5 }, 1],
    [{ kind: 'gamma', ratePerS: 5, cv: 0.5 }, 0.5],
    [{ kind: 'gamma', ratePerS: 2, cv: 2 }, 2],
    [{ kind: 'lognormal', ratePerS: 5, cv: 1 }, 1],
    [{ kind: 'lognormal', ratePerS: 0.5, cv: 2 }, 2],
  ];
  for (const [p, wantCv] of cases) {
    const g = gaps(p, 20_000, 42);
    const rate = 1 / mean(g);
    assert.ok(Math.abs(rate / p.ratePerS - 1) < 0.05, `${JSON.stringify(p)}: rate ${rate}`);
    assert.ok(Math.abs(cv(g) / wantCv - 1) < 0.12, `${JSON.stringify(p)}: cv ${cv(g)}`);
    assert.ok(g.every((x) => x >= 0));
  }
});

test('seeded: the same seed gives the same gaps, another seed others', () => {
  const p: ArrivalProcess = { kind: 'gamma', ratePerS: 3, cv: 1.5 };
  assert.deepEqual(gaps(p, 100, 7), gaps(p, 100, 7));
  assert.notDeepEqual(gaps(p, 100, 7), gaps(p, 100, 8));
});

test("lognormal parameters are the paper's: σ = √(ln(c²+1)), μ = ln(1/λ) − σ²/2", () => {
  const { mu, sigma } = lognormalParams(1 / 4, 2);
  assert.equal(sigma, Math.sqrt(Math.log(5)));
  assert.equal(mu, Math.log(0.25) - Math.log(5) / 2);
});

test('length distributions: fixed, uniform bounds, lognormal mean and CV, clamps', () => {
  const rng = createRng(1);
  assert.deepEqual(Array.from({ length: 5 }, lengthSampler({ kind: 'fixed', tokens: 128 }, rng)), [128, 128, 128, 128, 128]);
  const u = Array.from({ length: 5000 }, lengthSampler({ kind: 'uniform', min: 10, max: 20 }, rng));
  assert.equal(Math.min(...u), 10);
  assert.equal(Math.max(...u), 20);
  assert.ok(u.every(Number.isInteger));
  const l = Array.from({ length: 20_000 }, lengthSampler({ kind: 'lognormal', mean: 1000, cv: 0.8 }, rng));
  assert.ok(Math.abs(mean(l) / 1000 - 1) < 0.03, String(mean(l)));
  assert.ok(Math.abs(cv(l) / 0.8 - 1) < 0.1, String(cv(l)));
  const capped = Array.from({ length: 2000 }, lengthSampler({ kind: 'lognormal', mean: 200, cv: 1, min: 5, max: 256 }, rng));
  assert.ok(capped.every((x) => x >= 5 && x <= 256 && Number.isInteger(x)));
  assert.ok(capped.includes(256));
});

test('generateTrace: first arrival at 0, sorted, rows sampled jointly, mixture classes and SLOs, grid, prefix hashes', () => {
  const rows = [
    { inputTokens: 100, outputTokens: 1 },
    { inputTokens: 200, outputTokens: 2 },
  ];
  const t = generateTrace({ requests: 400, seed: 5, arrivals: { kind: 'poisson', ratePerS: 10 }, lengths: { kind: 'rows', rows }, gridMs: 500, hashIds: { blockTokens: 64, reuseProbability: 0.5 } });
  assert.equal(t[0].arrivalS, 0);
  assert.ok(t.every((r, i) => i === 0 || r.arrivalS >= t[i - 1].arrivalS));
  assert.ok(t.every((r) => (r.inputTokens === 100 && r.outputTokens === 1) || (r.inputTokens === 200 && r.outputTokens === 2)));
  assert.ok(t.every((r) => Number.isInteger(Math.round(r.arrivalS * 1000) / 500)));
  assert.ok(t.every((r) => r.hashIds!.length === Math.ceil(r.inputTokens / 64)));
  const firstIds = new Set(t.map((r) => r.hashIds![0]));
  assert.ok(firstIds.size < t.length, 'some requests reuse an earlier prefix');
  const m = generateTrace({
    requests: 2000,
    seed: 6,
    arrivals: { kind: 'poisson', ratePerS: 1 },
    lengths: {
      kind: 'mixture',
      classes: [
        { weight: 3, class: 'a', input: { kind: 'fixed', tokens: 1 }, output: { kind: 'fixed', tokens: 1 }, tpotSloMs: 50 },
        { weight: 1, class: 'b', input: { kind: 'fixed', tokens: 2 }, output: { kind: 'fixed', tokens: 2 } },
      ],
    },
  });
  const share = m.filter((r) => r.class === 'a').length / m.length;
  assert.ok(Math.abs(share - 0.75) < 0.03, String(share));
  assert.ok(m.every((r) => (r.class === 'a' ? r.slo?.tpotMs === 50 && r.inputTokens === 1 : r.slo === undefined && r.inputTokens === 2)));
});

test('writers round-trip through the readers: azure CSV (CRLF, 7 digits, no final newline), mooncake JSONL, artifact JSON', async () => {
  const reqs = generateTrace({
    requests: 300,
    seed: 9,
    arrivals: { kind: 'gamma', ratePerS: 4, cv: 3 },
    lengths: { kind: 'independent', input: { kind: 'lognormal', mean: 900, cv: 1 }, output: { kind: 'uniform', min: 1, max: 300 } },
    hashIds: { blockTokens: 512, reuseProbability: 0.3 },
  });
  const csv = formatAzureCsv(reqs, Date.UTC(2024, 0, 1));
  assert.ok(csv.startsWith('TIMESTAMP,ContextTokens,GeneratedTokens\r\n2024-01-01 00:00:00.0000000,'));
  assert.ok(!csv.endsWith('\n'));
  assert.equal(csv.split('\r\n').length, 301);
  assert.ok(csv.split('\r\n').slice(1).every((l) => /^2024-01-01 \d\d:\d\d:\d\d\.\d{7},\d+,\d+$/.test(l)));
  const a = await loadTrace(fx.write('rt.csv', csv));
  assert.equal(a.format, 'azure');
  assert.deepEqual(a.requests.map((r) => [r.inputTokens, r.outputTokens]), reqs.map((r) => [r.inputTokens, r.outputTokens]));
  a.requests.forEach((r, i) => assert.ok(Math.abs(r.arrivalS - reqs[i].arrivalS) <= 0.5e-7 + 1e-12, `${i}`));

  const jsonl = formatMooncakeJsonl(reqs);
  const m = await loadTrace(fx.write('rt.jsonl', jsonl));
  assert.equal(m.format, 'mooncake');
  assert.deepEqual(m.requests.map((r) => r.hashIds), reqs.map((r) => r.hashIds));
  m.requests.forEach((r, i) => assert.ok(Math.abs(r.arrivalS - reqs[i].arrivalS) <= 0.0005 + 1e-12));

  const json = formatOrbitflowJson(reqs, { batchSize: 4, maxModelLen: 32384, budgetShare: 0.23, arrivalPattern: 'x', stepMs: 20 });
  const doc = JSON.parse(json) as { peak_batch_blocks: number; num_gpu_blocks_override: number };
  const top4 = reqs.map((r) => r.inputTokens + r.outputTokens).sort((x, y) => y - x).slice(0, 4);
  assert.equal(doc.peak_batch_blocks, Math.ceil((top4[0] + top4[1] + top4[2] + top4[3]) / 16));
  assert.equal(doc.num_gpu_blocks_override, Math.ceil(0.23 * doc.peak_batch_blocks));
  const o = await loadTrace(fx.write('rt.json', json), { stepMs: 20 });
  assert.equal(o.format, 'orbitflow');
  o.requests.forEach((r, i) => assert.ok(Math.abs(r.arrivalS - reqs[i].arrivalS) <= 0.01 + 1e-9));
});

test('the shipped sample traces are exactly what the generator makes, and parse', async () => {
  for (const sample of sampleTraces()) {
    const file = join(REPO_ROOT, 'traces', sample.name);
    assert.equal(readFileSync(file, 'utf8'), sample.content, `${sample.name} differs from the generator: run node dist/bench/make-samples.js`);
    const { requests, stats } = await loadTrace(file, { stepMs: SAMPLE_ORBITFLOW_STEP_MS });
    assert.equal(requests.length, sample.spec.requests, sample.name);
    assert.equal(stats.rowsSkipped, 0);
    assert.ok(requests.every((r) => r.outputTokens <= 256), sample.name);
    const last = requests[requests.length - 1].arrivalS;
    assert.ok(last > 10 && last < 60, `${sample.name} lasts ${last} s`);
  }
  const mc = await loadTrace(join(REPO_ROOT, 'traces/sample-mooncake.jsonl'));
  assert.equal(mc.stats.quantisation?.gridMs, 3000);
  const az = await loadTrace(join(REPO_ROOT, 'traces/sample-azure-conv.csv'));
  assert.equal(az.format, 'azure');
  assert.equal(az.stats.quantisation, null);
});
