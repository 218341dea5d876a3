import type { RunRequestRecord } from '../engine/virtual-run.js';
import type { RunLine } from '../profile/from-run/run-dir.js';
import { computeVllmMetrics } from '../replay/metrics-vllm.js';
import { tpotMs, ttftMs, type RequestRecord } from '../replay/request-record.js';
import type { AssertionOutcome } from '../replay/run-result.js';

export const VALIDATION_SCHEMA = 'orbitflow.validation/v1';

/** The metrics compared, as `<name>` keys of `metrics` and `<name>_error` keys at the top. */
export const COMPARED = [
  ['ttft_p50', 'p50_ttft_ms'], ['ttft_p90', 'p90_ttft_ms'], ['ttft_p99', 'p99_ttft_ms'],
  ['tpot_p50', 'p50_tpot_ms'], ['tpot_p90', 'p90_tpot_ms'], ['tpot_p99', 'p99_tpot_ms'],
  ['itl_p50', 'p50_itl_ms'], ['itl_p90', 'p90_itl_ms'], ['itl_p99', 'p99_itl_ms'],
  ['e2el_p50', 'p50_e2el_ms'], ['e2el_p90', 'p90_e2el_ms'], ['e2el_p99', 'p99_e2el_ms'],
  ['request_throughput', 'request_throughput'], ['output_throughput', 'output_throughput'],
  ['max_concurrent_requests', 'max_concurrent_requests'],
] as const;

export interface ComparedMetric {
  predicted: number;
  measured: number;
  /** |predicted − measured| / measured; null when nothing was measured (0). */
  error: number | null;
  /** (predicted − measured) / measured. */
  signed_error: number | null;
}

/** `orbitflow.validation/v1` (docs/formats.md): predicted vs measured, number by number. */
export interface ValidationReport {
  schema: typeof VALIDATION_SCHEMA;
  created: string;
  tool: string;
  profile: { id: string; file: string; sha256: string; provenance_kind: string; provenance: string };
  run: { dir: string; endpoint: string | null; trace_file: string | null; trace_sha256: string | null; requests: number; completed: number; duration_s: number };
  simulation: Record<string, unknown>;
  metrics: Record<string, ComparedMetric>;
  /** Mean over requests completed in both of |predicted − measured| / measured, per request. */
  ttft_mape: number | null;
  tpot_mape: number | null;
  requests_compared: number;
  assertions: AssertionOutcome[];
  [flat: string]: unknown;
}

/** A replay's requests.jsonl line as a request record (the fields the vLLM metrics read). */
export function recordFromLine(l: RunLine): RequestRecord {
  return {
    index: l.index, id: l.id, arrivalS: l.arrival_s, inputTokens: l.input_tokens, expectedOutputTokens: l.expected_output_tokens,
    dueMs: l.arrival_s * 1000, releasedMs: l.sent_ms ?? Number.NaN, sentMs: l.sent_ms ?? Number.NaN, doneMs: Number.NaN,
    status: l.status === 'ok' ? 'ok' : l.status === 'not_issued' ? 'pending' : 'failed', httpStatus: 200, errorCause: null, errorDetail: null,
    chunkMs: l.chunk_ms, chunkTokens: l.chunk_tokens ?? l.chunk_ms.map(() => -1), usageOutputTokens: l.output_tokens, runningOutputTokens: 0, promptTokens: l.prompt_tokens, choiceMs: null, lastDataMs: Number.NaN,
  };
}

/** A simulated request as the client would have recorded it: sent on arrival, one message per token. */
export function recordFromSimulated(r: RunRequestRecord, index: number): RequestRecord {
  const chunkMs = Array.from(r.tokenTimesMs, (t) => t - r.arrivalMs);
  return {
    index, id: r.id, arrivalS: r.arrivalMs / 1000, inputTokens: r.inputTokens, expectedOutputTokens: r.expectedTokens,
    dueMs: r.arrivalMs, releasedMs: r.arrivalMs, sentMs: r.arrivalMs, doneMs: r.finishedMs ?? Number.NaN,
    status: r.finishReason === 'length' ? 'ok' : 'failed', httpStatus: 200, errorCause: null, errorDetail: null,
    chunkMs, chunkTokens: chunkMs.map(() => 1), usageOutputTokens: r.decodedTokens, runningOutputTokens: r.decodedTokens, promptTokens: r.inputTokens, choiceMs: null, lastDataMs: Number.NaN,
  };
}

function compare(predicted: number, measured: number): ComparedMetric {
  const ok = Number.isFinite(measured) && measured !== 0;
  return { predicted, measured, error: ok ? Math.abs(predicted - measured) / measured : null, signed_error: ok ? (predicted - measured) / measured : null };
}

function mape(pairs: Array<[number, number]>): number | null {
  const ok = pairs.filter(([, m]) => m > 0 && Number.isFinite(m));
  if (ok.length === 0) return null;
  return ok.reduce((s, [p, m]) => s + Math.abs(p - m) / m, 0) / ok.length;
}

export interface ValidationInputs {
  created: string;
  tool: string;
  profile: ValidationReport['profile'];
  run: ValidationReport['run'];
  simulation: Record<string, unknown>;
  measured: readonly RequestRecord[];
  measuredDurationS: number;
  predicted: readonly RequestRecord[];
  predictedDurationS: number;
}

/** Pure: both sides through the same vLLM formulas, then compared. Records are matched by `index`. */
export function buildValidation(v: ValidationInputs): ValidationReport {
  const pcts = [50, 90, 99];
  const m = computeVllmMetrics(v.measured, v.measuredDurationS, pcts);
  const p = computeVllmMetrics(v.predicted, v.predictedDurationS, pcts);
  const metrics: Record<string, ComparedMetric> = {};
  const flat: Record<string, number | null> = {};
  for (const [name, key] of COMPARED) {
    metrics[name] = compare(p[key] as number, m[key] as number);
    flat[`${name}_error`] = metrics[name].error;
  }
  const byIndex = new Map(v.predicted.map((r) => [r.index, r]));
  const ttft: Array<[number, number]> = [];
  const tpot: Array<[number, number]> = [];
  for (const r of v.measured) {
    const q = byIndex.get(r.index);
    if (!q || r.status !== 'ok' || q.status !== 'ok') continue;
    ttft.push([ttftMs(q), ttftMs(r)]);
    if ((r.usageOutputTokens ?? 0) > 1) tpot.push([tpotMs(q), tpotMs(r)]);
  }
  return {
    schema: VALIDATION_SCHEMA,
    created: v.created,
    tool: v.tool,
    profile: v.profile,
    run: v.run,
    simulation: v.simulation,
    metrics,
    ...flat,
    ttft_mape: mape(ttft),
    tpot_mape: mape(tpot),
    requests_compared: ttft.length,
    assertions: [],
  };
}

/** A report of the right shape with every number 0, to check --assert keys before simulating. */
export function validationTemplate(): Record<string, unknown> {
  const zero: ComparedMetric = { predicted: 0, measured: 0, error: 0, signed_error: 0 };
  const t: Record<string, unknown> = { metrics: Object.fromEntries(COMPARED.map(([n]) => [n, zero])), ttft_mape: 0, tpot_mape: 0, requests_compared: 0 };
  for (const [n] of COMPARED) t[`${n}_error`] = 0;
  return t;
}
