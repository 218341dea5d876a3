/**
 * Token-Deposit scoring, the metric-side algorithm of OrbitFlow's artifact
 * (`compute_slo_violation`; docs orbitflow-method §7.2). Tokens that arrive early are banked and
 * released to the client on the SLO cadence S; a late gap is covered from the bank when it can
 * be; only when the bank is dry is it a violation, and the cadence restarts there. No cap on the
 * bank and no initial credit.
 *
 * It is a function of one request's gaps and that request's S, so the state is per request by
 * construction (the artifact keyed its online deposit map by "request_k" where the scheduler
 * looked up seq ids, so the deposit was silently ignored; nothing here is keyed by id).
 * Solver time is 0 on the client side, so no step is dropped.
 */
export function depositViolations(gapsMs: ArrayLike<number>, sloMs: number): number {
  let bank = 0;
  let gen = 0; // generation clock
  let out = 0; // last release on the SLO cadence
  let late = 0;
  for (let i = 0; i < gapsMs.length; i++) {
    const t = gen + gapsMs[i];
    if (t < out + sloMs) {
      bank += 1;
      gen = t;
    } else if (t === out + sloMs) {
      gen = t;
      out += sloMs;
    } else {
      while (bank > 0 && out + sloMs < t) {
        bank -= 1;
        out += sloMs;
      }
      if (out + sloMs < t) {
        late += 1;
        gen = t;
        out = t;
      } else {
        bank += 1;
        gen = t;
      }
    }
  }
  return late;
}

/** The paper's "no TD" count: gaps over the SLO. */
export function plainViolations(gapsMs: ArrayLike<number>, sloMs: number): number {
  let v = 0;
  for (let i = 0; i < gapsMs.length; i++) if (gapsMs[i] > sloMs) v++;
  return v;
}

/**
 * Decode gaps a request should have had but did not: (expected − 1) − (received − 1), floored at
 * 0. This is §7.2's `expected_len − decoded_len − 1` with decoded_len counting the tokens after
 * the first (the decode steps), and gives expected − 1 for a request with no tokens at all.
 */
export function missingGaps(expectedTokens: number, receivedTokens: number): number {
  return Math.max(expectedTokens - 1 - Math.max(receivedTokens - 1, 0), 0);
}
