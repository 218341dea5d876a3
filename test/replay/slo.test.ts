import { test } from 'node:test';
import assert from 'node:assert/strict';
import { depositViolations, missingGaps, plainViolations } from '../../src/core/token-deposit.js';
import { computeSlo } from '../../src/replay/metrics-slo.js';
import { failedRecord, okRecord } from './records.js';

test('Token-Deposit (§7.2) on a hand-worked sequence', () => {
  // S = 10. Walk-through (bank, gen, out, late):
  //  4 → t=4  < 10: bank 1            |  4 → t=8 < 10: bank 2
  //  4 → t=12 > 10: release 1 (out 10), 12 ≤ 20 → bank 2
  // 20 → t=32: release 2 (out 30), 32 ≤ 40 → bank 1
  //  4 → t=36 < 40: bank 2
  // 25 → t=61: release 2 (out 50), 60 < 61 and bank dry → late 1, out = gen = 61
  // 10 → t=71 = out + S: on cadence, out 71
  // 30 → t=101, bank dry → late 2
  const gaps = [4, 4, 4, 20, 4, 25, 10, 30];
  assert.equal(depositViolations(gaps, 10), 2);
  assert.equal(plainViolations(gaps, 10), 3, 'no TD: 20, 25, 30 (10 is on time)');
});

test('Token-Deposit: a steady stream at the SLO never violates; early tokens pay for one late one', () => {
  assert.equal(depositViolations([10, 10, 10, 10], 10), 0);
  assert.equal(depositViolations([5, 5, 5, 25], 10), 0, 'three banked tokens cover a 25 ms gap');
  assert.equal(depositViolations([5, 5, 5, 45], 10), 1, 'but not a 45 ms one');
  assert.equal(depositViolations([], 10), 0);
});

test('missing gaps: (expected − 1) − (received − 1), and expected − 1 for nothing received', () => {
  assert.equal(missingGaps(10, 10), 0);
  assert.equal(missingGaps(10, 4), 6);
  assert.equal(missingGaps(10, 1), 9);
  assert.equal(missingGaps(10, 0), 9);
  assert.equal(missingGaps(10, 12), 0);
});

test('Token-Deposit state is per request: two requests are scored independently, in any order', () => {
  // Request a banks early tokens; if state leaked between requests, b's late gap would be covered.
  const a = okRecord(0, 0, [5, 6, 7, 8], { expected: 4 });
  const b = okRecord(1, 0, [5, 30], { expected: 2 });
  const slo = { tbtMs: 10 };
  const ab = computeSlo([a, b], slo, true, 1).attainment!;
  const ba = computeSlo([b, a], slo, true, 1).attainment!;
  assert.equal(ab.tbt_tokens!.violations_td, 1);
  assert.equal(ba.tbt_tokens!.violations_td, 1);
  assert.equal(ab.tbt, 0.5);
});

test('SLO attainment counts every issued request, failures as misses; token goodput', () => {
  const recs = [
    okRecord(0, 0, [100, 110, 120, 130], { usage: 4 }), // ttft 100, tpot 10, gaps 10
    okRecord(1, 0, [300, 305, 310, 400], { usage: 4 }), // ttft 300, tpot 33.3, a 90 ms gap
    failedRecord(2, 0, 'timeout', { expected: 4 }),
    failedRecord(3, 0, 'reset', { chunkMs: [50, 60], expected: 4 }),
  ];
  const { attainment, tokenGoodput } = computeSlo(recs, { ttftMs: 200, tpotMs: 40, tbtMs: 20 }, true, 2);
  assert.ok(attainment);
  assert.equal(attainment.denominator, 'issued');
  assert.equal(attainment.issued, 4);
  assert.equal(attainment.ttft, 0.25);
  assert.equal(attainment.tpot, 0.5);
  assert.equal(attainment.e2el, null, 'no e2el SLO given');
  assert.equal(attainment.tbt, 0.25, 'request 1 has a 90 ms gap no bank covers');
  assert.equal(attainment.all, 0.25);
  assert.equal(tokenGoodput, 2, '4 tokens of request 0 over 2 s');
  const t = attainment.tbt_tokens!;
  assert.equal(t.expected_tokens, 16);
  // no TD: request 1 one gap > 20; request 2 got nothing → 3; request 3 (truncated) adds nothing.
  assert.equal(t.violations_no_td, 4);
  assert.equal(t.attainment_no_td, 12 / 16);
  // TD: request 1: gaps 5,5,90 → the two banked tokens cover the cadence to 40 ms, 60 < 100 → 1 late; request 2: 3 missing;
  // request 3: gap 10 fine, 2 missing gaps.
  assert.equal(t.violations_td, 1 + 3 + 2);
  assert.equal(t.attainment_td, 10 / 16);
});

test('SLO: none given → no attainment and no token goodput; per-request SLOs from the trace override --slo', () => {
  assert.deepEqual(computeSlo([okRecord(0, 0, [10])], {}, false, 1), { attainment: null, tokenGoodput: null });
  const strict = okRecord(0, 0, [100, 110], { slo: { ttftMs: 50 } });
  const loose = okRecord(1, 0, [100, 110]);
  const a = computeSlo([strict, loose], { ttftMs: 150 }, false, 1).attainment!;
  assert.equal(a.ttft, 0.5);
  const onlyTrace = computeSlo([strict, loose], {}, false, 1).attainment!;
  assert.equal(onlyTrace.ttft, 0.5, 'a request without any threshold meets it');
  assert.equal(onlyTrace.slo_ms.ttft, null);
});
