import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/core/rng.js';
import { compareRuns, parseCompareAssertion } from '../../src/replay/compare-runs.js';
import { buildRunResult, type RunMetadata } from '../../src/replay/run-result.js';
import type { LoadedRun } from '../../src/replay/run-files.js';
import { OrbitflowError } from '../../src/core/errors.js';
import { okRecord } from './records.js';

const metadata = { percentiles: [50, 99], api: 'completions', model_name: 'm', max_concurrency: null, start_time: '2026-01-01T00:00:00.000Z' } as unknown as RunMetadata;

/** 300 requests, TTFT ~ N(100, 10) ms (seeded) plus `shiftMs`, then 8 tokens 10 ms apart. */
function run(source: string, seed: number, shiftMs: number): LoadedRun {
  const rng = createRng(seed);
  const records = Array.from({ length: 300 }, (_, i) => {
    const ttft = 100 + 10 * rng.normal() + shiftMs;
    return okRecord(i, i * 20, Array.from({ length: 8 }, (_, k) => ttft + 10 * k), { usage: 8 });
  });
  const result = buildRunResult(records, { durationS: 7, percentiles: [50, 99], slo: {}, deposit: false, maxErrorRate: 1, maxScheduleLagMs: 1e9, interrupted: false, metadata });
  return { source, result, records };
}

const OPTS = { confidence: 0.95, resamples: 400, seed: 0 };

test('compare --assert forms: base, base * k, k * base, base ± k, a number; anything else is a usage error', () => {
  assert.deepEqual(parseCompareAssertion('p99_ttft_ms <= base * 1.05'), { expr: 'p99_ttft_ms <= base * 1.05', key: 'p99_ttft_ms', op: '<=', scale: 1.05, offset: 0 });
  assert.deepEqual(parseCompareAssertion('mean_itl_ms<1.1*base'), { expr: 'mean_itl_ms<1.1*base', key: 'mean_itl_ms', op: '<', scale: 1.1, offset: 0 });
  assert.equal(parseCompareAssertion('completed >= base - 2').offset, -2);
  assert.equal(parseCompareAssertion('error_summary.rate == 0').scale, 0);
  for (const bad of ['p99_ttft_ms <= base ** 2', 'p99_ttft_ms <= new', '<= base']) assert.throws(() => parseCompareAssertion(bad), (e: unknown) => OrbitflowError.is(e) && e.exitCode === 2);
});

test('a change the noise explains passes (with a note when the point value breaks the bound); a real one fails', () => {
  const base = run('base', 1, 0);
  // The same requests 0.5 ms later: a real change, far inside the noise of 300 TTFTs with sd 10 ms.
  const tiny = run('tiny', 1, 0.5);
  const big = run('big', 1, 30);
  const gate = [parseCompareAssertion('mean_ttft_ms <= base'), parseCompareAssertion('p99_ttft_ms <= base * 1.05')];
  const t = compareRuns(base, tiny, gate, OPTS);
  assert.ok((t.assertions[0].new as number) > (t.assertions[0].bound as number), 'the point value breaks the bound');
  assert.equal(t.assertions[0].passed, true);
  assert.equal(t.assertions[0].basis, 'bootstrap');
  assert.match(t.assertions[0].note ?? '', /within the 95 % interval/);
  const [lo, hi] = t.assertions[0].ci as [number, number];
  assert.ok(lo < 0 && hi > 0, `${lo} .. ${hi}`);
  const b = compareRuns(base, big, gate, OPTS);
  assert.deepEqual(b.assertions.map((a) => a.passed), [false, false]);
  assert.ok((b.assertions[0].ci as [number, number])[0] > 20);
});

test('seeded and deterministic: the same inputs and seed give the same intervals; another seed, other draws', () => {
  const base = run('base', 1, 0);
  const next = run('next', 2, 0);
  const gate = [parseCompareAssertion('p99_itl_ms <= base'), parseCompareAssertion('median_e2el_ms <= base + 1')];
  assert.deepEqual(compareRuns(base, next, gate, OPTS), compareRuns(base, next, gate, OPTS));
  assert.notDeepEqual(compareRuns(base, next, gate, OPTS).assertions[1].ci, compareRuns(base, next, gate, { ...OPTS, seed: 9 }).assertions[1].ci);
});

test('the table has every shared metric with its change; a gate on an unknown metric is a usage error', () => {
  const c = compareRuns(run('a', 1, 0), run('b', 1, 30), [], OPTS);
  const ttft = c.metrics.find((m) => m.key === 'mean_ttft_ms')!;
  assert.ok(Math.abs((ttft.change as number) - 30) < 1e-6);
  assert.ok(c.metrics.some((m) => m.key === 'schedule_lag_ms.p99'));
  assert.ok(!c.metrics.some((m) => m.key.startsWith('metadata.')));
  assert.throws(() => compareRuns(run('a', 1, 0), run('b', 1, 0), [parseCompareAssertion('p99_ttft_msec <= base')], OPTS), /unknown metric 'p99_ttft_msec'/);
});

test('a resample as draw counts gives exactly the statistics of the resampled requests, sorted and pooled', async () => {
  const { sampleMetric, samplesFromRecords } = await import('../../src/replay/request-samples.js');
  const { distribution } = await import('../../src/replay/summary-stats.js');
  const base = run('r', 3, 0);
  const samples = samplesFromRecords(base.records!);
  const rng = createRng(11);
  for (let trial = 0; trial < 5; trial++) {
    const w = new Int32Array(samples.length);
    for (let k = 0; k < samples.length; k++) w[Math.floor(rng.next() * samples.length)]++;
    // The resample written out: each request as often as it was drawn, all its gaps with it.
    const ttft: number[] = [];
    const itl: number[] = [];
    samples.forEach((s, i) => {
      for (let c = 0; c < w[i]; c++) {
        ttft.push(s.ttftMs);
        itl.push(...s.itlsMs);
      }
    });
    const dt = distribution(ttft, [99, 37.5]);
    const di = distribution(itl, [90]);
    const near = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
    for (const [key, want] of [['mean_ttft_ms', dt.mean], ['std_ttft_ms', dt.std], ['median_ttft_ms', dt.median], ['p99_ttft_ms', dt.p99], ['p37.5_ttft_ms', dt['p37.5']], ['p90_itl_ms', di.p90], ['mean_itl_ms', di.mean]] as const) {
      const got = sampleMetric(key, samples, 7)!(w);
      assert.ok(near(got, want), `${key}: ${got} vs ${want}`);
    }
    assert.equal(sampleMetric('completed', samples, 7)!(w), samples.length);
  }
});
