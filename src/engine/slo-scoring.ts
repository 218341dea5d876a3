/**
 * The paper's SLO scoring (orbitflow-method.md §9 and §7.2), pure: TPOT attainment per request,
 * TBT attainment per token with and without Token-Deposit, and the P95 TBT / SLO ratio indexed by
 * the expected token count.
 */

import { depositViolations as depositGapViolations, missingGaps, plainViolations as plainGapViolations } from '../core/token-deposit.js';

/** One request as scoring sees it: how many tokens the trace asked for and when each one came out. */
export interface ScoredRequest {
  expectedTokens: number;
  /** Emission times of the decoded tokens, ms, ascending; length = decoded tokens (0 = never served). */
  tokenTimesMs: ArrayLike<number>;
  decodedTokens: number;
}

/** Decode gaps of one request's token times, into a reused buffer. */
function gapsOf(tokenTimesMs: ArrayLike<number>, decodedTokens: number, buf: { a: Float64Array }): Float64Array {
  const n = Math.max(decodedTokens - 1, 0);
  if (buf.a.length < n) buf.a = new Float64Array(Math.max(n, 2 * buf.a.length));
  for (let i = 1; i < decodedTokens; i++) buf.a[i - 1] = tokenTimesMs[i] - tokenTimesMs[i - 1];
  return buf.a.subarray(0, n);
}

const scratch = { a: new Float64Array(1024) };

/**
 * Token-Deposit violations of one request (§7.2, the one implementation in src/core), plus the
 * decode gaps a truncated or failed request never had.
 */
export function depositViolations(tokenTimesMs: ArrayLike<number>, decodedTokens: number, expectedTokens: number, sloMs: number): number {
  return depositGapViolations(gapsOf(tokenTimesMs, decodedTokens, scratch), sloMs) + missingGaps(expectedTokens, decodedTokens);
}

/** Plain TBT violations: decode gaps longer than the SLO; a request never served counts expected − 1. */
export function plainViolations(tokenTimesMs: ArrayLike<number>, decodedTokens: number, expectedTokens: number, sloMs: number): number {
  if (decodedTokens === 0) return Math.max(expectedTokens - 1, 0);
  return plainGapViolations(gapsOf(tokenTimesMs, decodedTokens, scratch), sloMs);
}

export interface SloScore {
  sloMs: number;
  requests: number;
  expectedTokens: number;
  /** Fraction of requests whose mean decode gap is ≤ S (failed or truncated requests miss). */
  tpotAttainment: number;
  /** 1 − violations/expected tokens, violations = gaps > S (the paper's "no TD"). */
  tbtAttainment: number;
  /** The same with Token-Deposit (§7.2). */
  tbtAttainmentTd: number;
  violations: number;
  violationsTd: number;
  /** Sorted observed gaps at index ⌊p·E⌋ (E = expected tokens) over S; null past the end of the list. */
  p90TbtOverSlo: number | null;
  p95TbtOverSlo: number | null;
  p99TbtOverSlo: number | null;
  /** The same P95 gap in ms. */
  p95TbtMs: number | null;
}

export function scoreSlo(reqs: readonly ScoredRequest[], sloMs: number): SloScore {
  let expected = 0;
  let gapsTotal = 0;
  for (const r of reqs) {
    expected += r.expectedTokens;
    if (r.decodedTokens > 1) gapsTotal += r.decodedTokens - 1;
  }
  const gaps = new Float64Array(gapsTotal);
  let g = 0;
  let tpotOk = 0;
  let violations = 0;
  let violationsTd = 0;
  for (const r of reqs) {
    const n = r.decodedTokens;
    const t = r.tokenTimesMs;
    for (let i = 1; i < n; i++) gaps[g++] = t[i] - t[i - 1];
    const complete = n >= r.expectedTokens && n > 0;
    const meanGap = n > 1 ? (t[n - 1] - t[0]) / (n - 1) : 0;
    if (complete && meanGap <= sloMs) tpotOk++;
    violations += plainViolations(t, n, r.expectedTokens, sloMs);
    violationsTd += depositViolations(t, n, r.expectedTokens, sloMs);
  }
  gaps.sort();
  const at = (p: number): number | null => {
    const i = Math.floor(p * expected);
    return i < gaps.length ? gaps[i] : null;
  };
  const ratio = (v: number | null): number | null => (v === null ? null : v / sloMs);
  const p95 = at(0.95);
  return {
    sloMs,
    requests: reqs.length,
    expectedTokens: expected,
    tpotAttainment: reqs.length > 0 ? tpotOk / reqs.length : 0,
    tbtAttainment: expected > 0 ? (expected - violations) / expected : 0,
    tbtAttainmentTd: expected > 0 ? (expected - violationsTd) / expected : 0,
    violations,
    violationsTd,
    p90TbtOverSlo: ratio(at(0.9)),
    p95TbtOverSlo: ratio(p95),
    p99TbtOverSlo: ratio(at(0.99)),
    p95TbtMs: p95,
  };
}
