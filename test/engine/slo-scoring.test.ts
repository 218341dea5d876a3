import { test } from 'node:test';
import assert from 'node:assert/strict';
import { depositViolations, plainViolations, scoreSlo } from '../../src/engine/slo-scoring.js';

const S = 10;

test('Token-Deposit banks early tokens and spends them on a late gap (hand-computed)', () => {
  // Gaps 2, 2, 2, 14 against S = 10: three tokens banked; the 14 ms gap is covered from the bank.
  const t = [0, 2, 4, 6, 20];
  assert.equal(depositViolations(t, 5, 5, S), 0);
  assert.equal(plainViolations(t, 5, 5, S), 1);
});

test('Token-Deposit: a late gap with an empty bank is one violation and restarts the cadence', () => {
  // Gaps 5, 5, 25: bank 1; 10 lands exactly on the cadence; 25 drains the bank (out → 20) and is still late.
  const t = [0, 5, 10, 35];
  assert.equal(depositViolations(t, 4, 4, S), 1);
  assert.equal(plainViolations(t, 4, 4, S), 1);
  // After the restart the cadence counts from the late token: a following 9 ms gap is on time.
  assert.equal(depositViolations([0, 5, 10, 35, 44], 5, 5, S), 1);
  // Two long gaps in a row with nothing banked: two violations.
  assert.equal(depositViolations([0, 15, 30], 3, 3, S), 2);
});

test('missing tokens: truncated requests count under TD only, absent requests under both', () => {
  // Expected 6, decoded 3 on time: TD adds the 5 − 2 = 3 decode gaps that never happened; plain adds nothing.
  assert.equal(depositViolations([0, 5, 10], 3, 6, S), 3);
  assert.equal(plainViolations([0, 5, 10], 3, 6, S), 0);
  // Never served: expected − 1 under both definitions.
  assert.equal(depositViolations([], 0, 6, S), 5);
  assert.equal(plainViolations([], 0, 6, S), 5);
});

test('scoreSlo: attainments, TPOT per request and the P95 indexed by the expected token count', () => {
  const reqs = [
    // mean gap 3 ≤ 10: meets TPOT; gaps all on time.
    { expectedTokens: 4, decodedTokens: 4, tokenTimesMs: [0, 3, 6, 9] },
    // mean gap (2+2+2+14)/4 = 5 ≤ 10: meets TPOT; one plain violation, none with TD.
    { expectedTokens: 5, decodedTokens: 5, tokenTimesMs: [100, 102, 104, 106, 120] },
    // mean gap 20: misses TPOT; 2 violations either way.
    { expectedTokens: 3, decodedTokens: 3, tokenTimesMs: [0, 20, 40] },
    // never served: misses TPOT; 2 violations either way.
    { expectedTokens: 3, decodedTokens: 0, tokenTimesMs: [] },
  ];
  const s = scoreSlo(reqs, S);
  assert.equal(s.expectedTokens, 15);
  assert.equal(s.tpotAttainment, 2 / 4);
  assert.equal(s.violations, 1 + 2 + 2);
  assert.equal(s.violationsTd, 0 + 2 + 2);
  assert.equal(s.tbtAttainment, (15 - 5) / 15);
  assert.equal(s.tbtAttainmentTd, (15 - 4) / 15);
  // Observed gaps sorted: 2,2,2,3,3,3,14,20,20 (9 of them); index ⌊0.95·15⌋ = 14 is past the end.
  assert.equal(s.p95TbtOverSlo, null);
  const full = scoreSlo(reqs.slice(0, 3), S);
  // expected 12; gaps 9; ⌊0.9·12⌋ = 10 is past the end; the P95 is too.
  assert.equal(full.p90TbtOverSlo, null);
  const long = scoreSlo([{ expectedTokens: 21, decodedTokens: 21, tokenTimesMs: Array.from({ length: 21 }, (_, i) => i * i) }], S);
  // Gaps 1,3,5,…,39 (20 of them); ⌊0.95·21⌋ = 19 → 39 ms.
  assert.equal(long.p95TbtMs, 39);
  assert.equal(long.p95TbtOverSlo, 3.9);
});
