import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeVllmMetrics, maxConcurrentRequests, maxOutputTokensPerS } from '../../src/replay/metrics-vllm.js';
import { pooledTbt, tbtGaps } from '../../src/replay/metrics-tbt.js';
import { distribution } from '../../src/replay/summary-stats.js';
import { outputTokens, tpotMs } from '../../src/replay/request-record.js';
import { failedRecord, okRecord } from './records.js';

const close = (a: number | null, b: number, what: string): void => {
  assert.ok(a !== null && Math.abs(a - b) < 1e-9, `${what}: ${a} != ${b}`);
};

// A: sent at 0 ms, 4 messages of one token, final usage says 4 tokens.
// B: sent at 50 ms, 2 messages carrying 1 and 4 tokens (continuous usage), no final usage.
// C: failed with HTTP 500. Duration 1 s.
function sample() {
  return [
    okRecord(0, 0, [100, 150, 210, 300], { usage: 4, prompt: 10 }),
    okRecord(1, 50, [200, 260], { tokens: [1, 4], prompt: 20 }),
    failedRecord(2, 70, 'http_5xx'),
  ];
}

test('vLLM metrics on a hand-computed run: TTFT, TPOT, pooled ITL, E2EL, throughputs', () => {
  const m = computeVllmMetrics(sample(), 1.0, [50, 99]);
  assert.equal(m.completed, 2);
  assert.equal(m.failed, 1);
  assert.equal(m.total_input_tokens, 30);
  assert.equal(m.total_output_tokens, 9); // 4 (final usage) + 5 (continuous usage)
  close(m.request_throughput, 2, 'request_throughput');
  close(m.output_throughput, 9, 'output_throughput');
  close(m.total_token_throughput, 39, 'total_token_throughput');
  assert.equal(m.request_goodput, null);
  // TTFT [100, 200]
  close(m.mean_ttft_ms, 150, 'mean ttft');
  close(m.median_ttft_ms, 150, 'median ttft');
  close(m.std_ttft_ms, 50, 'std ttft (population)');
  close(m.p99_ttft_ms, 199, 'p99 ttft');
  // TPOT A = (300-100)/3, B = (260-200)/4
  close(m.mean_tpot_ms, (200 / 3 + 15) / 2, 'mean tpot');
  // ITL pooled per message: [50, 60, 90] + [60]; sorted [50,60,60,90]; p99 rank 2.97 → 60 + 0.97·30
  close(m.mean_itl_ms, 65, 'mean itl');
  close(m.median_itl_ms, 60, 'median itl');
  close(m.p99_itl_ms, 89.1, 'p99 itl');
  close(m.p50_e2el_ms, 280, 'p50 e2el');
  // Messages at 100,150,210,300 and 250,310 ms all fall in the first 1 s bin: 6 (per message, as vLLM).
  assert.equal(m.max_output_tokens_per_s, 6);
  assert.equal(m.max_concurrent_requests, 2);
});

test('vLLM goodput: inclusive bounds over successful requests, n ≤ 1 counts as TPOT 0, divided by duration', () => {
  const recs = sample();
  close(computeVllmMetrics(recs, 2.0, [99], { ttftMs: 150 }).request_goodput, 0.5, 'ttft:150');
  close(computeVllmMetrics(recs, 2.0, [99], { ttftMs: 200 }).request_goodput, 1.0, 'ttft:200 (inclusive)');
  close(computeVllmMetrics(recs, 2.0, [99], { ttftMs: 200, tpotMs: 20 }).request_goodput, 0.5, 'tpot:20 drops A');
  const single = okRecord(3, 0, [40], { usage: 1 });
  close(computeVllmMetrics([single], 1.0, [99], { tpotMs: 0 }).request_goodput, 1, 'n = 1 → TPOT 0 meets tpot:0');
  assert.equal(computeVllmMetrics([single], 1.0, [99]).mean_tpot_ms, 0, 'n = 1 has no TPOT sample');
});

test('empty runs report 0 for every statistic, as vLLM does', () => {
  const m = computeVllmMetrics([failedRecord(0, 0, 'timeout')], 1.0, [99]);
  assert.equal(m.completed, 0);
  assert.equal(m.mean_ttft_ms, 0);
  assert.equal(m.p99_itl_ms, 0);
  assert.equal(m.max_output_tokens_per_s, 0);
});

test('max_concurrent_requests: half-open intervals, an end before a start at the same instant', () => {
  // [0,100) and [100,200) never overlap; [50,150) overlaps both.
  const a = okRecord(0, 0, [100]);
  const b = okRecord(1, 100, [100]);
  assert.equal(maxConcurrentRequests([a, b]), 1);
  assert.equal(maxConcurrentRequests([a, b, okRecord(2, 50, [100])]), 2);
  assert.equal(maxConcurrentRequests([a, b, okRecord(2, 50, [100]), failedRecord(3, 60, 'reset')]), 2, 'failures are excluded');
});

test('max_output_tokens_per_s: whole-second bins from the earliest start, one count per message', () => {
  const a = okRecord(0, 0, [500, 900, 1100, 1200, 1300], { tokens: [1, 1, 3, 3, 3] });
  const b = okRecord(1, 1000, [50, 150]);
  // Bin 0: 500, 900 → 2. Bin 1: 1100, 1200, 1300, 1050, 1150 → 5 messages (11 tokens, but vLLM counts messages).
  assert.equal(maxOutputTokensPerS([a, b]), 5);
});

test('TBT: a message of m tokens after gap g gives m gaps of g/m; the first message has no gap', () => {
  const r = okRecord(0, 0, [100, 130, 190], { tokens: [2, 1, 3] });
  assert.deepEqual(tbtGaps(r), { gapsMs: [30, 20, 20, 20], source: 'usage' });
  assert.equal(outputTokens(r), 6);
  close(tpotMs(r), (190 - 100) / 5, 'tpot uses tokens, not messages');
  // Without per-message usage TBT is the chunk gap (vLLM's ITL).
  assert.deepEqual(tbtGaps(okRecord(1, 0, [100, 130, 190])), { gapsMs: [30, 60], source: 'chunk' });
  // Messages with 0 new tokens are skipped; the next gap runs from the previous token message.
  assert.deepEqual(tbtGaps(okRecord(2, 0, [100, 120, 150], { tokens: [1, 0, 2] })).gapsMs, [25, 25]);
});

test('TBT pooling: source and tokens per message over successful requests', () => {
  const p = pooledTbt([okRecord(0, 0, [100, 160], { tokens: [1, 3] }), failedRecord(1, 0, 'reset', { chunkMs: [10, 20] })]);
  assert.deepEqual(p.samplesMs, [20, 20, 20]);
  assert.equal(p.source, 'usage');
  assert.equal(p.chunkTokenRatio, 2);
  assert.equal(pooledTbt([okRecord(0, 0, [100, 160], { tokens: [1, 3] }), okRecord(1, 0, [1, 2])]).source, 'mixed');
});

test('percentiles match numpy.percentile (linear) and std is population', () => {
  // numpy: np.percentile([1,2,3,4,10], [0,25,50,90,99,100]) = [1, 2, 3, 7.6, 9.76, 10]; np.std = 3.1622776601683795
  const d = distribution([10, 3, 1, 4, 2], [0, 25, 90, 99, 100]);
  close(d.p0, 1, 'p0');
  close(d.p25, 2, 'p25');
  close(d.median, 3, 'median');
  close(d.p90, 7.6, 'p90');
  close(d.p99, 9.76, 'p99');
  close(d.p100, 10, 'p100');
  close(d.mean, 4, 'mean');
  close(d.std, 3.1622776601683795, 'std');
  // np.percentile([0.5, 7.25], 33.3) = 2.7477500000000003
  close(distribution([7.25, 0.5], [33.3])['p33.3'], 0.5 + 0.333 * 6.75, 'fractional percentile key and value');
});
