import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { loadTrace, openTrace } from '../../src/trace/open.js';
import type { TraceRequest } from '../../src/trace/types.js';
import { REPLICA_SPREAD_S } from '../../src/trace/arrival-mixer.js';
import { AZURE_CONV, MOONCAKE_CONV } from '../helpers/paths.js';

let conv: TraceRequest[];
/** The first 20 minutes of conv: enough rows for the statistical checks, a third of the reading. */
let head: TraceRequest[];
const HEAD = { window: { startS: 0, durationS: 1200 } };
let mooncake: TraceRequest[];
before(async () => {
  conv = (await loadTrace(AZURE_CONV)).requests;
  head = conv.filter((r) => r.arrivalS < 1200);
  mooncake = (await loadTrace(MOONCAKE_CONV)).requests;
});

function sorted(reqs: TraceRequest[]): boolean {
  return reqs.every((r, i) => i === 0 || r.arrivalS >= reqs[i - 1].arrivalS);
}

test('window: exactly the rows in [start, start+duration), rebased to the window start; stops reading at the end', async () => {
  const { requests, stats } = await loadTrace(AZURE_CONV, { window: { startS: 600, durationS: 60 } });
  const expected = conv.filter((r) => r.arrivalS >= 600 && r.arrivalS < 660);
  assert.ok(expected.length > 200);
  assert.deepEqual(
    requests.map((r) => [r.id, r.arrivalS, r.inputTokens]),
    expected.map((r) => [r.id, r.arrivalS - 600, r.inputTokens]),
  );
  assert.deepEqual(requests.map((r) => r.index), expected.map((_, i) => i));
  assert.equal(stats.readToEnd, false);
  assert.ok(stats.bytesRead < stats.fileBytes);
});

test('limit and speedup: the first N requests, times divided exactly', async () => {
  const { requests, stats } = await loadTrace(AZURE_CONV, { limit: 25, speedup: 4 });
  assert.equal(requests.length, 25);
  assert.deepEqual(
    requests.map((r) => [r.id, r.arrivalS]),
    conv.slice(0, 25).map((r) => [r.id, r.arrivalS / 4]),
  );
  assert.equal(stats.readToEnd, false);
  const windowed = await loadTrace(AZURE_CONV, { window: { startS: 1000, durationS: 100 }, speedup: 2, limit: 5 });
  assert.deepEqual(
    windowed.requests.map((r) => r.arrivalS),
    conv.filter((r) => r.arrivalS >= 1000).slice(0, 5).map((r) => (r.arrivalS - 1000) / 2),
  );
});

test('rate scale 0.5 keeps about half, seeded and deterministic, times untouched', async () => {
  const a = await loadTrace(AZURE_CONV, { ...HEAD, rateScale: 0.5, seed: 1 });
  const b = await loadTrace(AZURE_CONV, { ...HEAD, rateScale: 0.5, seed: 1 });
  const c = await loadTrace(AZURE_CONV, { ...HEAD, rateScale: 0.5, seed: 2 });
  const n = a.requests.length;
  // Binomial(n ≈ 6,400, 0.5): sd ≈ 40, so ±3 % is over 4.5 sd.
  assert.ok(Math.abs(n - head.length / 2) < 0.03 * head.length, String(n));
  assert.deepEqual(b.requests.map((r) => r.id), a.requests.map((r) => r.id));
  assert.notDeepEqual(c.requests.map((r) => r.id), a.requests.map((r) => r.id));
  assert.equal(a.stats.rowsThinned + n, head.length);
  const byId = new Map(head.map((r) => [r.id, r]));
  for (const r of a.requests) assert.equal(r.arrivalS, byId.get(r.id)!.arrivalS);
  assert.ok(sorted(a.requests));
});

test('rate scale 2 doubles every arrival, copies within the replica spread; 1.5 adds about half', async () => {
  const { requests, stats } = await loadTrace(AZURE_CONV, { ...HEAD, rateScale: 2, seed: 3 });
  assert.equal(requests.length, 2 * head.length);
  assert.equal(stats.rowsReplicated, head.length);
  assert.ok(sorted(requests));
  const byId = new Map(head.map((r) => [r.id, r]));
  for (const r of requests) {
    const [base, copy] = r.id.split('#');
    const original = byId.get(base)!;
    if (copy === undefined) assert.equal(r.arrivalS, original.arrivalS);
    else {
      assert.equal(copy, '1');
      assert.ok(r.arrivalS >= original.arrivalS && r.arrivalS < original.arrivalS + REPLICA_SPREAD_S);
    }
  }
  const half = await loadTrace(AZURE_CONV, { ...HEAD, rateScale: 1.5, seed: 3 });
  assert.ok(Math.abs(half.requests.length - 1.5 * head.length) < 0.03 * head.length, String(half.requests.length));
  assert.ok(sorted(half.requests));
});

test('jitter: deterministic per seed, within ±J/2, re-sorted; de-quantises Mooncake', async () => {
  const opts = { jitterMs: 3000, seed: 11 };
  const a = await loadTrace(MOONCAKE_CONV, opts);
  const b = await loadTrace(MOONCAKE_CONV, opts);
  const c = await loadTrace(MOONCAKE_CONV, { ...opts, seed: 12 });
  assert.equal(a.requests.length, mooncake.length);
  assert.deepEqual(a.requests, b.requests);
  assert.notDeepEqual(a.requests.map((r) => r.arrivalS), c.requests.map((r) => r.arrivalS));
  assert.ok(sorted(a.requests));
  const byId = new Map(mooncake.map((r) => [r.id, r]));
  let moved = 0;
  for (const r of a.requests) {
    const d = r.arrivalS - byId.get(r.id)!.arrivalS;
    assert.ok(Math.abs(d) <= 1.5 + 1e-9, `${r.id} moved ${d}`);
    assert.ok(r.arrivalS >= 0);
    if (d !== 0) moved++;
  }
  assert.ok(moved > 0.99 * mooncake.length);
  assert.deepEqual(a.requests.map((r) => r.index), a.requests.map((_, i) => i));
  assert.ok(new Set(a.requests.map((r) => r.arrivalS)).size > 0.99 * mooncake.length);
  // The source is still reported as quantised, but the --jitter advice is gone.
  assert.equal(a.stats.quantisation?.distinctTimestamps, 1_180);
  assert.ok(!a.stats.warnings.some((w) => w.includes('--jitter')));
});

test('quantisation: none on azure conv, a window of Mooncake is still quantised', async () => {
  const conv2 = openTrace(AZURE_CONV);
  for await (const _ of conv2.requests());
  assert.equal(conv2.stats().quantisation, null);
  assert.equal(conv2.stats().distinctTimestamps, conv.length);
  const w = await loadTrace(MOONCAKE_CONV, { window: { startS: 300, durationS: 300 } });
  assert.ok(w.stats.quantisation !== null);
  assert.ok(Math.abs(w.stats.quantisation.gridMs - 3000) <= 5);
});

test('clamps: inputs and outputs capped and counted', async () => {
  const { requests, stats } = await loadTrace(AZURE_CONV, { ...HEAD, maxInput: 2048, maxOutput: 256 });
  assert.equal(stats.clampedInput, head.filter((r) => r.inputTokens > 2048).length);
  assert.equal(stats.clampedOutput, head.filter((r) => r.outputTokens > 256).length);
  assert.ok(stats.clampedInput > 0 && stats.clampedOutput > 0);
  assert.deepEqual(
    requests.map((r) => [r.inputTokens, r.outputTokens]),
    head.map((r) => [Math.min(2048, r.inputTokens), Math.min(256, r.outputTokens)]),
  );
  assert.ok(stats.warnings.some((w) => w.startsWith(`clamped input tokens of ${stats.clampedInput} requests`)));
});

test('streaming: --limit 10 on Mooncake reads one chunk, not the file', async () => {
  const trace = openTrace(MOONCAKE_CONV, { limit: 10 });
  const got = [];
  for await (const r of trace.requests()) got.push(r);
  assert.equal(got.length, 10);
  const s = trace.stats();
  assert.equal(s.fileBytes, statSync(MOONCAKE_CONV).size);
  // One 64 KiB read-stream chunk of a 3 MB file.
  assert.ok(s.bytesRead > 0 && s.bytesRead <= 64 * 1024, String(s.bytesRead));
  assert.equal(s.readToEnd, false);
  assert.equal(s.rowsRead, 10);
});

test('streaming: breaking out of the iteration early stops the read too', async () => {
  const trace = openTrace(AZURE_CONV);
  let n = 0;
  for await (const _ of trace.requests()) if (++n === 3) break;
  assert.ok(trace.stats().bytesRead <= 64 * 1024);
  assert.equal(trace.stats().readToEnd, false);
});

test('option validation: bad transform values are usage errors', () => {
  assert.throws(() => openTrace(AZURE_CONV, { speedup: 0 }), /--speedup/);
  assert.throws(() => openTrace(AZURE_CONV, { rateScale: -1 }), /--rate-scale/);
  // Values that would turn a trace into years of replay or billions of copies.
  assert.throws(() => openTrace(AZURE_CONV, { speedup: 1e-300 }), /--speedup: expected a number in \[0\.001, 1000000\], got 1e-300/);
  assert.throws(() => openTrace(AZURE_CONV, { rateScale: 1e9 }), /--rate-scale: expected a number in \(0, 100\]/);
  assert.throws(() => openTrace(AZURE_CONV, { jitterMs: 1e300 }), /--jitter/);
  assert.throws(() => openTrace(AZURE_CONV, { maxDurationS: 0 }), /--max-duration/);
  assert.throws(() => openTrace(AZURE_CONV, { limit: 1.5 }), /--limit/);
  assert.throws(() => openTrace(AZURE_CONV, { format: 'azure', filterModel: 'GPT-4' }), /--filter-model: applies to BurstGPT/);
});
