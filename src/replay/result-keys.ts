import { LATENCY_METRICS } from './metrics-vllm.js';
import { SLO_METRICS, sloValue, type SloMetric, type SloSpec } from './metrics-slo.js';
import { ERROR_CAUSES, OUTPUT_TOKEN_COUNTS } from './request-record.js';
import { scheduleLagPercentiles } from './run-result.js';
import { distributionKeys, flatStatKeys } from './summary-stats.js';

/** What decides which keys a run's result has: the replay's options, and which SLOs its trace carries. */
export interface ResultShape {
  percentiles: readonly number[];
  /** --slo's global thresholds. */
  slo: SloSpec;
  /** The SLOs the run scores: --slo's and the trace's own (scoredSloMetrics). */
  scored: ReadonlySet<SloMetric>;
  deposit: boolean;
  goodput: boolean;
  /** --max-concurrency given: vLLM's client-queue keys. */
  capped: boolean;
}

/** A numeric key of orbitflow.run/v1; `hint` is set when these options leave it null, and says what computes it. */
export interface ResultKey {
  key: string;
  hint?: string;
}

const GIVE_SLO = 'give --slo ttft=MS,tpot=MS,tbt=MS,e2el=MS (and --deposit for the *_td keys)';

/**
 * The registry of orbitflow.run/v1's numeric keys (the dotted paths --assert gates on), for one
 * shape of run. `--assert` is checked against it before anything is sent; a test holds it equal
 * to the keys of real results of each shape.
 */
export function runResultKeys(s: ResultShape): ResultKey[] {
  const keys: ResultKey[] = [];
  const add = (names: readonly string[], hint?: string): void => {
    for (const key of names) keys.push(hint === undefined ? { key } : { key, hint });
  };
  const within = (section: string, names: readonly string[]): string[] => names.map((n) => `${section}.${n}`);
  add(['duration', 'completed', 'failed', 'total_input_tokens', 'total_output_tokens', 'request_throughput']);
  add(['request_goodput'], s.goodput ? undefined : 'give --goodput ttft:MS tpot:MS e2el:MS');
  add(['output_throughput', 'total_token_throughput']);
  for (const m of LATENCY_METRICS) add(flatStatKeys(m, s.percentiles));
  add(['max_output_tokens_per_s', 'max_concurrent_requests', 'num_prompts']);
  const cap = s.capped ? undefined : 'give --max-concurrency N (vLLM writes the client-queue keys only for a capped run)';
  add(['max_concurrency'], cap);
  add(flatStatKeys('client_queue_time', s.percentiles), cap);
  add(flatStatKeys('ttft_content', s.percentiles));
  add(['orbitflow_completed', 'orbitflow_failed', ...within('output_tokens_counted_by', OUTPUT_TOKEN_COUNTS), 'issued', 'error_rate']);
  add(sloKeys(s).filter((k) => k.computed).map((k) => k.key));
  add(sloKeys(s).filter((k) => !k.computed).map((k) => k.key), GIVE_SLO);
  add(['token_goodput'], s.scored.size > 0 ? undefined : GIVE_SLO);
  add(within('tbt_ms', distributionKeys(s.percentiles)));
  add(within('latency_samples', [...LATENCY_METRICS, 'tbt', 'ttft_content']));
  add(['chunk_token_ratio']);
  add(within('schedule_lag_ms', distributionKeys(scheduleLagPercentiles(s.percentiles))));
  add(within('client_queue_time_ms', distributionKeys(s.percentiles)));
  add(['error_summary.total', 'error_summary.rate', ...within('error_summary.by_cause', ERROR_CAUSES)]);
  return keys;
}

/** slo_attainment's keys: with no SLO at all the section is null, and every key in it is uncomputed. */
function sloKeys(s: ResultShape): Array<{ key: string; computed: boolean }> {
  const slos = s.scored;
  const any = slos.size > 0;
  const out: Array<{ key: string; computed: boolean }> = [];
  const add = (key: string, computed: boolean): number => out.push({ key: `slo_attainment.${key}`, computed: any && computed });
  add('issued', true);
  // slo_ms holds --slo's global thresholds: a per-request SLO of the trace leaves it null.
  for (const m of SLO_METRICS) add(`slo_ms.${m}`, sloValue(s.slo, m) !== undefined);
  for (const m of SLO_METRICS) add(m, slos.has(m));
  add('all', true);
  for (const m of [...SLO_METRICS, 'all']) add(`met.${m}`, true);
  const tbt = slos.has('tbt');
  for (const k of ['expected_tokens', 'violations_no_td', 'attainment_no_td']) add(`tbt_tokens.${k}`, tbt);
  for (const k of ['violations_td', 'attainment_td']) add(`tbt_tokens.${k}`, tbt && s.deposit);
  return out;
}
