import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrbitflowError } from '../../src/core/errors.js';
import { mergeParts } from '../../src/replay/merge-runs.js';
import { capShare, parseShard, shareOf } from '../../src/replay/shard.js';
import { buildRunResult, type RunMetadata } from '../../src/replay/run-result.js';
import { okRecord, traceRequest } from './records.js';

test('--shard i/N: 0-based, i < N; anything else is a usage error naming the flag', () => {
  assert.deepEqual(parseShard('0/4'), { index: 0, count: 4 });
  assert.deepEqual(parseShard(' 3 / 4 '), { index: 3, count: 4 });
  for (const bad of ['5/4', '4/4', '1/0', '-1/4', 'a/4', '1', '1/4/2']) {
    assert.throws(() => parseShard(bad), (e: unknown) => OrbitflowError.is(e) && e.exitCode === 2 && e.message.startsWith('--shard: '), bad);
  }
});

test('the shares partition the trace in schedule order, each every N-th request, whatever the input order', () => {
  const reqs = [5, 0, 3, 1, 4, 2, 6].map((i) => traceRequest(i, { arrivalS: i === 4 ? 1 : i / 10 }));
  const shares = [0, 1, 2].map((index) => shareOf(reqs, { index, count: 3 }));
  const all = shares.flat().map((r) => r.index).sort((a, b) => a - b);
  assert.deepEqual(all, [0, 1, 2, 3, 4, 5, 6]);
  // Schedule order: 0 1 2 3 5 6 4 (request 4 arrives last).
  assert.deepEqual(shares.map((s) => s.map((r) => r.index)), [[0, 3, 4], [1, 5], [2, 6]]);
  assert.deepEqual(shareOf(reqs, { index: 0, count: 1 }).map((r) => r.index), [0, 1, 2, 3, 5, 6, 4]);
});

test('a cap shared by N shares sums to the cap, each share at most one apart', () => {
  for (const [cap, n] of [[10, 3], [4, 4], [7, 2], [100, 16]]) {
    const parts = Array.from({ length: n }, (_, index) => capShare(cap, { index, count: n }));
    assert.equal(parts.reduce((a, b) => a + b, 0), cap);
    assert.ok(Math.max(...parts) - Math.min(...parts) <= 1);
  }
  assert.equal(capShare(Infinity, { index: 1, count: 2 }), Infinity);
});

test('mergeParts: times move onto the earliest start, records in schedule order, the duration to the last end; the metrics are those of one run', () => {
  const a = [okRecord(0, 0, [10, 20]), okRecord(2, 100, [10, 20])];
  const b = [okRecord(1, 50, [10, 20]), okRecord(3, 150, [10, 20])];
  for (const r of [...a, ...b]) r.arrivalS = r.index * 0.05;
  // Part b started 2 ms after part a; on one clock its records are 2 ms later.
  const m = mergeParts([
    { records: b, t0UnixMs: 1002, durationS: 0.3 },
    { records: a, t0UnixMs: 1000, durationS: 0.25 },
  ]);
  assert.deepEqual(m.records.map((r) => r.index), [0, 1, 2, 3]);
  assert.deepEqual(m.records.map((r) => r.sentMs), [0, 52, 100, 152]);
  assert.equal(m.t0UnixMs, 1000);
  assert.ok(Math.abs(m.durationS - 0.302) < 1e-12);
  assert.equal(b[0].sentMs, 50, 'the parts are not changed');
  const md = { percentiles: [50, 99], api: 'completions', model_name: 'm', max_concurrency: null, start_time: '' } as unknown as RunMetadata;
  const r = buildRunResult(m.records, { durationS: m.durationS, percentiles: [50, 99], slo: {}, deposit: false, maxErrorRate: 1, maxScheduleLagMs: 1e9, interrupted: false, metadata: md });
  assert.equal(r.completed, 4);
  assert.equal(r.max_concurrent_requests, 1);
});

test('a worker\'s slimmed record: its tokens spread over the seconds it streamed, none lost', async () => {
  const { spreadTokens } = await import('../../src/replay/run-workers.js');
  const rec = okRecord(0, 0, [100, 3600]);
  rec.runningOutputTokens = 37;
  const calls: Array<[number, number]> = [];
  spreadTokens(rec, (r) => calls.push([r.chunkMs[0], r.chunkTokens[0]]));
  assert.equal(calls.length, 4, 'one per second from 0.1 s to 3.6 s');
  assert.equal(calls.reduce((a, [, n]) => a + n, 0), 37);
  assert.ok(calls.every(([t]) => t >= 100 && t <= 3600));
});
