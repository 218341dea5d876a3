import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTraceSummary, summariseTrace, traceSummaryJson } from '../../src/trace/summary.js';
import { AZURE_CODE, AZURE_CONV, MOONCAKE_CONV } from '../helpers/paths.js';

// Literal values from shared/traces/README.md (computed there with numpy-style percentiles).
test('azure conv summary matches the traces README', async () => {
  const s = await summariseTrace(AZURE_CONV);
  assert.equal(s.requests, 19_366);
  assert.equal(s.durationS.toFixed(1), '3501.7');
  assert.equal(s.meanArrivalRate.toFixed(2), '5.53');
  assert.equal(s.interArrivalCv.toFixed(2), '1.09');
  assert.equal(s.input.mean.toFixed(1), '1154.7');
  assert.deepEqual([s.input.p50, s.input.p99, s.input.min, s.input.max], [1020, 4142, 2, 14_050]);
  assert.equal(s.output.mean.toFixed(1), '211.1');
  assert.deepEqual([s.output.p50, s.output.p99, s.output.min, s.output.max], [129, 601, 7, 1000]);
  assert.equal(s.totalTokens, s.input.total + s.output.total);
  assert.equal(s.quantisation, null);
  assert.equal(s.distinctArrivals, 19_366);
  const text = formatTraceSummary(s);
  assert.match(text, /3,501\.7 s/);
  assert.match(text, /5\.53 req\/s mean, inter-arrival CV 1\.09/);
  assert.match(text, /not quantised/);
});

test('azure code summary: CV 13.2, p99 output 251.5', async () => {
  const s = await summariseTrace(AZURE_CODE);
  assert.equal(s.requests, 8_819);
  assert.equal(s.durationS.toFixed(1), '3435.9');
  assert.ok(Math.abs(s.interArrivalCv - 13.2) < 0.06, String(s.interArrivalCv));
  assert.equal(s.output.p99.toFixed(1), '251.5');
  assert.equal(s.input.p99, 7436);
});

test('mooncake summary: duration 3,537.0 s, 3.40 req/s, p99 input 85,400.4, quantisation warning', async () => {
  const s = await summariseTrace(MOONCAKE_CONV);
  assert.equal(s.durationS.toFixed(1), '3537.0');
  assert.equal(s.meanArrivalRate.toFixed(2), '3.40');
  assert.equal(s.input.mean.toFixed(1), '12035.1');
  assert.equal(s.input.p99.toFixed(1), '85400.4');
  assert.equal(s.output.p99.toFixed(1), '1118.5');
  assert.equal(s.quantisation?.distinctTimestamps, 1_180);
  assert.equal(s.distinctArrivals, 1_180);
  assert.match(formatTraceSummary(s), /^warning: timestamps sit on a ~3000 ms grid .*--jitter 3000/m);
});

test('summary of a transformed stream, and its JSON form has snake_case keys only', async () => {
  const s = await summariseTrace(MOONCAKE_CONV, { window: { startS: 600, durationS: 600 }, speedup: 2, jitterMs: 3000, maxInput: 32_000, seed: 3 });
  assert.ok(s.durationS <= 300 + 1 && s.durationS > 290, String(s.durationS));
  assert.equal(s.input.max, 32_000);
  assert.equal(s.clampedInput > 0, true);
  assert.ok(s.distinctArrivals > 0.99 * s.requests);
  const json = traceSummaryJson(s);
  const keys: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null)
      for (const [k, x] of Object.entries(v)) {
        keys.push(k);
        walk(x);
      }
  };
  walk(json);
  assert.ok(keys.every((k) => /^[a-z0-9_]+$/.test(k)), keys.filter((k) => !/^[a-z0-9_]+$/.test(k)).join(','));
  assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
  assert.equal((json.options as Record<string, unknown>).jitter_ms, 3000);
  assert.equal(json.requests, s.requests);
  assert.match(formatTraceSummary(s), /transforms  window 600:600 s, speedup 2×, jitter ±1500 ms, max input 32000, seed 3/);
});
