import { computeSlo, type SloAttainment, type SloSpec } from './metrics-slo.js';
import { pooledTbt, type TbtSource } from './metrics-tbt.js';
import { computeVllmMetrics, contentTtftsMs, latencySampleCounts, type GoodputSpec, type LatencyMetric } from './metrics-vllm.js';
import { ERROR_CAUSES, OUTPUT_TOKEN_COUNTS, isSuccess, outputTokensCountedBy, type ErrorCause, type OutputTokensCount, type RequestRecord } from './request-record.js';
import { distribution, flatStats, type Distribution } from './summary-stats.js';
import { vllmDetailedLists, vllmRunKeys, type VllmDetailedLists, type VllmRunKeys } from './vllm-result-keys.js';
import { vllmSuccess } from './vllm-view.js';
import type { ControllerRunReport } from '../controller/run-report.js';

export const RUN_SCHEMA = 'orbitflow.run/v1';

export interface RunMetadata {
  /** argv after `orbitflow`, with any secret removed. */
  command: string[];
  orbitflow_version: string;
  node_version: string;
  trace: { file: string; sha256: string; format: string; requests: number } | null;
  seeds: { trace: number; prompt: number };
  endpoint: string | null;
  api: string;
  prompt: string;
  model_name: string;
  max_concurrency: number | null;
  request_timeout_s: number;
  percentiles: number[];
  slo: SloSpec;
  goodput: GoodputSpec | null;
  deposit: boolean;
  start_time: string;
  /** The degraded-run bounds (what `orbitflow merge` re-applies to the merged records). */
  max_error_rate?: number;
  max_schedule_lag_ms?: number;
  [extra: string]: unknown;
}

export interface ErrorSummary {
  total: number;
  /** (failed − interrupted) / issued: the share the server or the network is to blame for. */
  rate: number;
  by_cause: Record<ErrorCause, number>;
  /** The first few failures, in request order. */
  examples: Array<{ index: number; id: string; cause: ErrorCause; detail: string | null }>;
}

export interface AssertionOutcome {
  expr: string;
  actual: number | null;
  passed: boolean;
}

/**
 * `orbitflow.run/v1`: vLLM's result keys with vLLM's meaning first (duration, completed,
 * request_throughput, mean_/median_/std_/pXX_{ttft,tpot,itl,e2el}_ms, …), then orbitflow's own
 * under distinct names. Percentile keys are dynamic, so they are reached by index.
 */
export interface RunResult extends VllmRunKeys {
  schema: typeof RUN_SCHEMA;
  duration: number;
  completed: number;
  failed: number;
  total_input_tokens: number;
  total_output_tokens: number;
  request_throughput: number;
  request_goodput: number | null;
  output_throughput: number;
  total_token_throughput: number;
  max_output_tokens_per_s: number;
  max_concurrent_requests: number;
  /** orbitflow's stricter verdict (a stream with an error event, cut short or with contradictory usage fails). */
  orbitflow_completed: number;
  orbitflow_failed: number;
  /** How the output tokens of vLLM's successes were counted; `token_messages` is the fallback when the server sent no usage. */
  output_tokens_counted_by: Record<OutputTokensCount, number>;
  issued: number;
  error_rate: number;
  slo_attainment: SloAttainment | null;
  token_goodput: number | null;
  tbt_ms: Distribution;
  /** Samples behind each latency statistic: with 0, its value (0, as vLLM reports) measures nothing, and no --assert on it passes. */
  latency_samples: Record<LatencyMetric | 'tbt' | 'ttft_content', number>;
  tbt_source: TbtSource;
  chunk_token_ratio: number;
  schedule_lag_ms: Distribution;
  client_queue_time_ms: Distribution;
  /** orbitflow's error summary (`errors` is vLLM's list of strings, with --save-detailed). */
  error_summary: ErrorSummary;
  degraded: boolean;
  degraded_reasons: string[];
  interrupted: boolean;
  /** Set when a bug stopped the run early (exit 70): the results are partial. */
  internal_error: string | null;
  assertions: AssertionOutcome[];
  metadata: RunMetadata;
  /** The feedback controller's report (null: a run with no controller step, e.g. --dry-run). */
  controller: ControllerRunReport | null;
  [key: string]: unknown;
}

export interface ResultInputs {
  durationS: number;
  percentiles: readonly number[];
  slo: SloSpec;
  deposit: boolean;
  goodput?: GoodputSpec;
  maxErrorRate: number;
  maxScheduleLagMs: number;
  interrupted: boolean;
  metadata: RunMetadata;
  controller?: ControllerRunReport | null;
  /** vLLM's --save-detailed: add its per-request lists (input_lens, ttfts, itls, errors, …). */
  saveDetailed?: boolean;
}

const MAX_ERROR_EXAMPLES = 10;

/** The schedule lag is always reported at p50, p90 and p99 (the degraded-run bound reads p99), besides those asked for. */
export function scheduleLagPercentiles(percentiles: readonly number[]): number[] {
  return [...new Set([...percentiles, 50, 90, 99])].sort((a, b) => a - b);
}

/** Pure: records in, result out. Only issued requests (released by the pacer) count. */
export function buildRunResult(all: readonly RequestRecord[], inp: ResultInputs): RunResult {
  const issued = all.filter((r) => r.status !== 'pending');
  const vllm = computeVllmMetrics(issued, inp.durationS, inp.percentiles, inp.goodput);
  const tbt = pooledTbt(issued);
  const slo = computeSlo(issued, inp.slo, inp.deposit, inp.durationS);
  const lagPercentiles = scheduleLagPercentiles(inp.percentiles);
  const lags: number[] = [];
  const queue: number[] = [];
  for (const r of issued) {
    if (!Number.isNaN(r.releasedMs)) lags.push(r.releasedMs - r.dueMs);
    if (!Number.isNaN(r.sentMs)) queue.push(r.sentMs - r.releasedMs);
  }
  const lag = distribution(lags, lagPercentiles);
  const byCause = Object.fromEntries(ERROR_CAUSES.map((c) => [c, 0])) as Record<ErrorCause, number>;
  const examples: ErrorSummary['examples'] = [];
  let failures = 0;
  let interruptedCount = 0;
  for (const r of issued) {
    if (r.status === 'ok') continue;
    failures++;
    if (r.errorCause === 'interrupted') interruptedCount++;
    const cause = r.errorCause ?? 'client';
    byCause[cause]++;
    if (examples.length < MAX_ERROR_EXAMPLES) examples.push({ index: r.index, id: r.id, cause, detail: r.errorDetail });
  }
  // Requests we aborted ourselves (Ctrl-C) say nothing about the server: not in the error rate.
  const errorRate = issued.length === 0 ? 0 : (failures - interruptedCount) / issued.length;
  const reasons: string[] = [];
  if (errorRate > inp.maxErrorRate) reasons.push(`error rate ${fmt(errorRate)} > --max-error-rate ${inp.maxErrorRate}`);
  const lagP99 = lag.p99;
  if (lagP99 > inp.maxScheduleLagMs) reasons.push(`p99 schedule lag ${fmt(lagP99)} ms > --max-schedule-lag-ms ${inp.maxScheduleLagMs}`);

  const result: RunResult = {
    schema: RUN_SCHEMA,
    ...(vllm as Record<string, number>),
    duration: vllm.duration as number,
    completed: vllm.completed as number,
    failed: vllm.failed as number,
    total_input_tokens: vllm.total_input_tokens as number,
    total_output_tokens: vllm.total_output_tokens as number,
    request_throughput: vllm.request_throughput as number,
    request_goodput: vllm.request_goodput,
    output_throughput: vllm.output_throughput as number,
    total_token_throughput: vllm.total_token_throughput as number,
    max_output_tokens_per_s: vllm.max_output_tokens_per_s as number,
    max_concurrent_requests: vllm.max_concurrent_requests as number,
    ...vllmRunKeys(all, inp.metadata),
    ...clientQueueKeys(queue, inp.percentiles, inp.metadata.max_concurrency),
    ...contentTtftKeys(issued, inp.percentiles),
    orbitflow_completed: issued.filter(isSuccess).length,
    orbitflow_failed: issued.length - issued.filter(isSuccess).length,
    output_tokens_counted_by: countedBy(issued),
    issued: issued.length,
    error_rate: errorRate,
    slo_attainment: slo.attainment,
    token_goodput: slo.tokenGoodput,
    tbt_ms: distribution(tbt.samplesMs, inp.percentiles),
    latency_samples: { ...latencySampleCounts(issued), tbt: tbt.samplesMs.length, ttft_content: issued.filter(isSuccess).length },
    tbt_source: tbt.source,
    chunk_token_ratio: tbt.chunkTokenRatio,
    schedule_lag_ms: lag,
    client_queue_time_ms: distribution(queue, inp.percentiles),
    error_summary: { total: failures, rate: errorRate, by_cause: byCause, examples },
    degraded: reasons.length > 0,
    degraded_reasons: reasons,
    interrupted: inp.interrupted,
    internal_error: null,
    assertions: [],
    metadata: inp.metadata,
    controller: inp.controller ?? null,
  };
  if (inp.saveDetailed === true) Object.assign(result, vllmDetailedLists(issued) satisfies VllmDetailedLists);
  return result;
}

/** vLLM writes `{mean,median,std,pNN}_client_queue_time_ms` only when --max-concurrency caps the run. */
function clientQueueKeys(queue: readonly number[], percentiles: readonly number[], cap: number | null | undefined): Record<string, number> {
  return cap === null || cap === undefined ? {} : flatStats('client_queue_time', queue, percentiles);
}

/** orbitflow's TTFT over its own successes; on chat it starts at the first content, where vLLM's `*_ttft_ms` starts at the role-only delta. */
function contentTtftKeys(issued: readonly RequestRecord[], percentiles: readonly number[]): Record<string, number> {
  return flatStats('ttft_content', contentTtftsMs(issued), percentiles);
}

function countedBy(issued: readonly RequestRecord[]): Record<OutputTokensCount, number> {
  const out = Object.fromEntries(OUTPUT_TOKEN_COUNTS.map((c) => [c, 0])) as Record<OutputTokensCount, number>;
  for (const r of issued) if (vllmSuccess(r)) out[outputTokensCountedBy(r)]++;
  return out;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(3);
}
