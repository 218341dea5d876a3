import type { RunLine } from './run-dir.js';

/**
 * From a replay's per-chunk times, what each engine step must have run, seen from the outside:
 *
 * - **Decode gaps.** Every gap between two consecutive tokens of a request is one decode step
 *   (or more, when a prefill ran in between). The batch of the step that ended the gap at t_b is
 *   every request between its first and its last token then (first token before t_b, last token
 *   at or after t_b, within half the gap for the clock jitter of the client), each with context
 *   prompt + tokens so far − 1 (the engine's KV when it computed that token). A gap during which
 *   another request got its first token had a prefill in it (or mixed into it) and is left out.
 * - **Prefill steps.** Requests whose first tokens arrive together were prefilled in one step;
 *   the step began when the last of them had been sent and the engine's previous step had ended
 *   (the latest token of any request before it): TTFT net of the queueing.
 *
 * Pure: records in, samples out.
 */
export interface DecodeGapSample {
  /** Requests in the step. */
  batch: number;
  /** Σ context tokens of the step's requests. */
  contextTokens: number;
  /** The gap, ms. */
  ms: number;
  /** When the step ended, ms from the run's start. */
  tMs: number;
  /** The engine's running count scraped nearest to tMs, or null. */
  telemetryRunning: number | null;
}

export interface PrefillSample {
  /** Prompt tokens of each request prefilled in the step. */
  prompts: number[];
  ms: number;
  tMs: number;
}

export interface Reconstruction {
  decode: DecodeGapSample[];
  prefill: PrefillSample[];
  /** Gaps (or prefill groups) left out, by reason. */
  skipped: Record<string, number>;
  requestsUsed: number;
  medianGapMs: number;
}

export interface TelemetryRunning {
  t_s: number;
  running?: number;
}

interface Req {
  t: Float64Array;
  cum: Float64Array;
  prompt: number;
  sent: number;
  first: number;
  last: number;
}

/** Index of the last element ≤ x in a sorted array, or −1. */
function lastAtOrBelow(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = Float64Array.from(xs).sort();
  const m = s.length >>> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Gaps longer than this many median gaps are no decode step (a preemption, a stall): left out. */
const OUTLIER_GAPS = 20;

export function reconstruct(lines: readonly RunLine[], telemetry: readonly TelemetryRunning[] | null, opts: { maxSamples?: number } = {}): Reconstruction {
  const skipped: Record<string, number> = {};
  const skip = (why: string, n = 1): void => {
    skipped[why] = (skipped[why] ?? 0) + n;
  };
  const reqs: Req[] = [];
  for (const l of lines) {
    if (l.sent_ms === null || l.chunk_ms.length === 0) continue;
    const n = l.chunk_ms.length;
    const t = new Float64Array(n);
    const cum = new Float64Array(n);
    let c = 0;
    for (let k = 0; k < n; k++) {
      t[k] = l.sent_ms + l.chunk_ms[k];
      c += l.chunk_tokens ? l.chunk_tokens[k] : 1;
      cum[k] = c;
    }
    reqs.push({ t, cum, prompt: l.prompt_tokens, sent: l.sent_ms, first: t[0], last: t[n - 1] });
  }

  // Every gap with one token after it.
  const gapReq: number[] = [];
  const gapK: number[] = [];
  const gapMs: number[] = [];
  reqs.forEach((r, i) => {
    for (let k = 1; k < r.t.length; k++) {
      const g = r.t[k] - r.t[k - 1];
      if (r.cum[k] - r.cum[k - 1] !== 1) skip('bundled_tokens');
      else if (!(g > 0)) skip('zero_gap');
      else {
        gapReq.push(i);
        gapK.push(k);
        gapMs.push(g);
      }
    }
  });
  const medianGapMs = median(gapMs);
  const firsts = Float64Array.from(reqs.map((r) => r.first)).sort();

  // Keep the gaps with no first token inside them and no outlier length; then sweep by end time.
  const keep: number[] = [];
  for (let j = 0; j < gapMs.length; j++) {
    const r = reqs[gapReq[j]];
    const tb = r.t[gapK[j]];
    const ta = r.t[gapK[j] - 1];
    const g = gapMs[j];
    if (g > OUTLIER_GAPS * medianGapMs) {
      skip('outlier_gap');
      continue;
    }
    const eps = 0.25 * g;
    if (lastAtOrBelow(firsts, tb + eps) - lastAtOrBelow(firsts, ta + eps) > 0) {
      skip('prefill_in_gap');
      continue;
    }
    keep.push(j);
  }
  let chosen = keep;
  const max = opts.maxSamples ?? 200_000;
  if (chosen.length > max) {
    const stride = chosen.length / max;
    chosen = Array.from({ length: max }, (_, i) => keep[Math.floor(i * stride)]);
    skip('subsampled', keep.length - max);
  }
  const endOf = (j: number): number => reqs[gapReq[j]].t[gapK[j]];
  chosen.sort((a, b) => endOf(a) - endOf(b));

  const byFirst = reqs.map((_, i) => i).sort((a, b) => reqs[a].first - reqs[b].first);
  const telT = telemetry ? telemetry.filter((p) => typeof p.running === 'number') : [];
  const telTimes = Float64Array.from(telT.map((p) => p.t_s * 1000));
  const telStep = telTimes.length > 1 ? (telTimes[telTimes.length - 1] - telTimes[0]) / (telTimes.length - 1) : Infinity;
  const nearestRunning = (tMs: number): number | null => {
    if (telTimes.length === 0) return null;
    const i = lastAtOrBelow(telTimes, tMs);
    let best = -1;
    for (const c of [i, i + 1]) if (c >= 0 && c < telTimes.length && (best < 0 || Math.abs(telTimes[c] - tMs) < Math.abs(telTimes[best] - tMs))) best = c;
    return best >= 0 && Math.abs(telTimes[best] - tMs) <= 1.5 * telStep ? (telT[best].running as number) : null;
  };

  const decode: DecodeGapSample[] = [];
  const active: number[] = [];
  let next = 0;
  const horizon = (OUTLIER_GAPS / 2) * medianGapMs;
  for (const j of chosen) {
    const tb = endOf(j);
    const h = 0.5 * gapMs[j];
    while (next < byFirst.length && reqs[byFirst[next]].first < tb) active.push(byFirst[next++]);
    // Drop requests that ended long before (never members of this or any later step).
    for (let a = active.length - 1; a >= 0; a--) if (reqs[active[a]].last < tb - horizon) active.splice(a, 1);
    let batch = 0;
    let ctx = 0;
    for (const qi of active) {
      const q = reqs[qi];
      if (!(q.first < tb - h && q.last >= tb - h)) continue;
      const at = lastAtOrBelow(q.t, tb + h);
      if (at < 0) continue;
      batch++;
      ctx += q.prompt + q.cum[at] - 1;
    }
    decode.push({ batch, contextTokens: ctx, ms: gapMs[j], tMs: tb, telemetryRunning: nearestRunning(tb) });
  }

  // Prefill steps: first tokens that arrive together.
  const allTimes = Float64Array.from(reqs.flatMap((r) => Array.from(r.t))).sort();
  const delta = Math.min(3, Math.max(0.5, 0.1 * medianGapMs));
  const prefill: PrefillSample[] = [];
  for (let a = 0; a < byFirst.length; ) {
    const t0 = reqs[byFirst[a]].first;
    let b = a;
    while (b + 1 < byFirst.length && reqs[byFirst[b + 1]].first - t0 <= delta) b++;
    const group = byFirst.slice(a, b + 1).map((i) => reqs[i]);
    a = b + 1;
    const before = lastAtOrBelow(allTimes, t0 - delta);
    const prevStepEnd = before >= 0 ? allTimes[before] : -Infinity;
    const start = Math.max(prevStepEnd, ...group.map((r) => r.sent));
    const ms = t0 - start;
    if (!(ms > 0)) {
      skip('prefill_unbounded');
      continue;
    }
    prefill.push({ prompts: group.map((r) => r.prompt), ms, tMs: t0 });
  }
  return { decode, prefill, skipped, requestsUsed: reqs.length, medianGapMs };
}
