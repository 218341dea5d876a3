import { tbtGaps } from './metrics-tbt.js';
import { e2elMs, isSuccess, outputTokens, tpotMs, ttftMs, type RequestRecord } from './request-record.js';
import { depositViolations, missingGaps, plainViolations } from '../core/token-deposit.js';

/** `--slo ttft=MS,tpot=MS,tbt=MS,e2el=MS`; a trace's per-request SLO overrides it for that request. */
export interface SloSpec {
  ttftMs?: number;
  tpotMs?: number;
  tbtMs?: number;
  e2elMs?: number;
}

export const SLO_METRICS = ['ttft', 'tpot', 'tbt', 'e2el'] as const;
export type SloMetric = (typeof SLO_METRICS)[number];

/** Token-level TBT attainment as the paper scores it (orbitflow-method §9): (E − V)/E. */
export interface TbtTokenAttainment {
  denominator: 'expected_tokens';
  /** E: Σ expected output tokens of the issued requests that have a TBT SLO. */
  expected_tokens: number;
  /** "No TD": gaps over S, plus expected − 1 for each request that produced no token. */
  violations_no_td: number;
  attainment_no_td: number;
  /** With Token-Deposit (§7.2), plus the missing gaps of failed/truncated requests; null without --deposit. */
  violations_td: number | null;
  attainment_td: number | null;
}

export interface SloAttainment {
  denominator: 'issued';
  issued: number;
  /** The global thresholds given with --slo (null: not given). */
  slo_ms: Record<SloMetric, number | null>;
  /** Fraction of issued requests meeting each SLO; failures are misses; null when that SLO is not set. */
  ttft: number | null;
  tpot: number | null;
  tbt: number | null;
  e2el: number | null;
  all: number;
  met: Record<SloMetric | 'all', number>;
  tbt_tokens: TbtTokenAttainment | null;
}

export interface SloOutcome {
  attainment: SloAttainment | null;
  /** Output tokens of requests meeting every SLO, per second of run; null without any SLO. */
  tokenGoodput: number | null;
}

/** The threshold a spec gives one metric. */
export function sloValue(spec: SloSpec, m: SloMetric): number | undefined {
  return m === 'ttft' ? spec.ttftMs : m === 'tpot' ? spec.tpotMs : m === 'tbt' ? spec.tbtMs : spec.e2elMs;
}

function threshold(rec: RequestRecord, spec: SloSpec, m: SloMetric): number | undefined {
  const own = rec.slo;
  const v = own === undefined ? undefined : m === 'ttft' ? own.ttftMs : m === 'tpot' ? own.tpotMs : m === 'tbt' ? own.tbtMs : own.e2elMs;
  return v ?? sloValue(spec, m);
}

/** The SLOs a run scores: those of the spec (--slo), and any a request carries itself. */
export function scoredSloMetrics(spec: SloSpec, requests: Iterable<{ slo?: SloSpec }>): Set<SloMetric> {
  const scored = new Set<SloMetric>(SLO_METRICS.filter((m) => sloValue(spec, m) !== undefined));
  for (const r of requests) {
    if (scored.size === SLO_METRICS.length) break;
    if (r.slo !== undefined) for (const m of SLO_METRICS) if (sloValue(r.slo, m) !== undefined) scored.add(m);
  }
  return scored;
}

/**
 * SLO attainment over ALL issued requests (failures count as misses; the denominator is named),
 * unlike vLLM's goodput, which drops failures. A request meets the TBT SLO when none of its
 * token gaps is a violation: with --deposit, after Token-Deposit and counting missing tokens;
 * without, every gap ≤ S. TPOT of a request with n ≤ 1 is 0 (vLLM's goodput rule).
 * A request without a threshold for a metric (no --slo value and none in the trace) meets it.
 */
export function computeSlo(records: readonly RequestRecord[], spec: SloSpec, deposit: boolean, durationS: number): SloOutcome {
  const active = scoredSloMetrics(spec, records);
  if (active.size === 0) return { attainment: null, tokenGoodput: null };

  const met: Record<SloMetric | 'all', number> = { ttft: 0, tpot: 0, tbt: 0, e2el: 0, all: 0 };
  let goodTokens = 0;
  let expected = 0;
  let vNoTd = 0;
  let vTd = 0;
  for (const r of records) {
    const ok = isSuccess(r);
    const n = outputTokens(r);
    let all = ok;
    for (const m of active) {
      const s = threshold(r, spec, m);
      let pass: boolean;
      if (s === undefined) pass = true;
      else if (!ok) pass = false;
      else if (m === 'ttft') pass = ttftMs(r) <= s;
      else if (m === 'tpot') pass = tpotMs(r) <= s;
      else if (m === 'e2el') pass = e2elMs(r) <= s;
      else pass = true; // tbt: below, with the token-level count
      if (m === 'tbt' && s !== undefined) {
        const gaps = tbtGaps(r).gapsMs;
        const received = r.chunkMs.length === 0 ? 0 : n;
        const plain = plainViolations(gaps, s) + (received === 0 ? Math.max(r.expectedOutputTokens - 1, 0) : 0);
        const td = deposit ? depositViolations(gaps, s) + missingGaps(r.expectedOutputTokens, received) : 0;
        expected += r.expectedOutputTokens;
        vNoTd += plain;
        vTd += td;
        pass = ok && (deposit ? td === 0 : plain === 0);
      }
      if (pass) met[m]++;
      all = all && pass;
    }
    if (all) {
      met.all++;
      goodTokens += n;
    }
  }
  const issued = records.length;
  const frac = (k: number): number => (issued === 0 ? 0 : k / issued);
  const ratio = (v: number): number => (expected === 0 ? 0 : (expected - v) / expected);
  const attainment: SloAttainment = {
    denominator: 'issued',
    issued,
    slo_ms: { ttft: spec.ttftMs ?? null, tpot: spec.tpotMs ?? null, tbt: spec.tbtMs ?? null, e2el: spec.e2elMs ?? null },
    ttft: active.has('ttft') ? frac(met.ttft) : null,
    tpot: active.has('tpot') ? frac(met.tpot) : null,
    tbt: active.has('tbt') ? frac(met.tbt) : null,
    e2el: active.has('e2el') ? frac(met.e2el) : null,
    all: frac(met.all),
    met,
    tbt_tokens: active.has('tbt')
      ? {
          denominator: 'expected_tokens',
          expected_tokens: expected,
          violations_no_td: vNoTd,
          attainment_no_td: ratio(vNoTd),
          violations_td: deposit ? vTd : null,
          attainment_td: deposit ? ratio(vTd) : null,
        }
      : null,
  };
  return { attainment, tokenGoodput: durationS > 0 ? goodTokens / durationS : 0 };
}
