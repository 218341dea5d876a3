import type { PromSample, PromText } from './prom-text.js';

/**
 * The engine metrics a replay keeps, and their names in each engine, old and new spellings:
 *
 * | signal | vLLM (V1; older) | SGLang | TGI | orbitflow reference engine |
 * |---|---|---|---|---|
 * | running requests | `vllm:num_requests_running` | `sglang:num_running_reqs` | `tgi_batch_current_size` | `orbitflow:num_requests_running` |
 * | waiting requests | `vllm:num_requests_waiting` | `sglang:num_queue_reqs` | `tgi_queue_size` | `orbitflow:num_requests_waiting` |
 * | KV-cache usage (0–1) | `vllm:kv_cache_usage_perc` (`vllm:gpu_cache_usage_perc` before 0.10) | `sglang:token_usage` | — | `orbitflow:gpu_kv_blocks_used` / `_total` |
 * | preemptions (counter) | `vllm:num_preemptions_total` | `sglang:num_retracted_requests_total` | — | `orbitflow:num_preemptions_total` |
 * | prefix-cache hits (counter, tokens) | `vllm:prefix_cache_hits_total` / `vllm:prefix_cache_queries_total` | `sglang:cached_tokens_total` / `sglang:prompt_tokens_total` | — | — |
 * | prefix-cache hit rate (gauge) | `vllm:gpu_prefix_cache_hit_rate` (V0) | `sglang:cache_hit_rate` | — | — |
 * | KV offload bytes / seconds (counters, by direction) | `vllm:kv_offload_total_bytes_total`, `vllm:kv_offload_total_time_total` {transfer_type=CPU_to_GPU, GPU_to_CPU} | — | — | `orbitflow:h2d_fetched_bytes_total` + `orbitflow:h2d_reloaded_bytes_total`, `orbitflow:d2h_write_through_bytes_total` |
 * | KV capacity | `vllm:cache_config_info{num_gpu_blocks, block_size}` (tokens) | `sglang:max_total_num_tokens` (tokens) | — | `orbitflow:gpu_kv_blocks_total` (per-layer blocks) |
 *
 * Several series of one name (vLLM's `engine` label under data parallelism, per-rank series) are
 * summed, except usage fractions, of which the largest is kept (the fullest engine binds).
 */

export type EngineKind = 'vllm' | 'sglang' | 'tgi' | 'orbitflow';

/** One scrape, read into the signals above; null where the engine does not export one. */
export interface EngineReading {
  engine: EngineKind | null;
  running: number | null;
  waiting: number | null;
  kvUsage: number | null;
  preemptionsTotal: number | null;
  prefixHitsTotal: number | null;
  prefixQueriesTotal: number | null;
  prefixHitRate: number | null;
  offloadBytesToGpuTotal: number | null;
  offloadBytesToHostTotal: number | null;
  offloadSecondsToGpuTotal: number | null;
  offloadSecondsToHostTotal: number | null;
  /** GPU KV capacity, in tokens of the whole model (vLLM, SGLang) or per-layer 16-token blocks (orbitflow). */
  kvCapacityTokens: number | null;
  kvCapacityLayerBlocks: number | null;
}

/** Metric names of each signal, first match wins (newest spelling first). */
export const METRIC_NAMES = {
  running: ['vllm:num_requests_running', 'sglang:num_running_reqs', 'tgi_batch_current_size', 'orbitflow:num_requests_running'],
  waiting: ['vllm:num_requests_waiting', 'sglang:num_queue_reqs', 'tgi_queue_size', 'orbitflow:num_requests_waiting'],
  kvUsage: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc', 'sglang:token_usage'],
  preemptionsTotal: ['vllm:num_preemptions_total', 'vllm:num_preemptions', 'sglang:num_retracted_requests_total', 'orbitflow:num_preemptions_total'],
  prefixHitsTotal: ['vllm:prefix_cache_hits_total', 'vllm:prefix_cache_hits', 'sglang:cached_tokens_total'],
  prefixQueriesTotal: ['vllm:prefix_cache_queries_total', 'vllm:prefix_cache_queries', 'sglang:prompt_tokens_total'],
  prefixHitRate: ['vllm:gpu_prefix_cache_hit_rate', 'sglang:cache_hit_rate'],
  offloadBytes: ['vllm:kv_offload_total_bytes_total', 'vllm:kv_offload_total_bytes'],
  offloadSeconds: ['vllm:kv_offload_total_time_total', 'vllm:kv_offload_total_time'],
} as const;

const ENGINE_OF_PREFIX: Array<[string, EngineKind]> = [
  ['vllm:', 'vllm'],
  ['sglang:', 'sglang'],
  ['tgi_', 'tgi'],
  ['orbitflow:', 'orbitflow'],
];

type Index = Map<string, PromSample[]>;

function indexByName(samples: readonly PromSample[]): Index {
  const idx: Index = new Map();
  for (const s of samples) {
    if (!Number.isFinite(s.value)) continue;
    let list = idx.get(s.name);
    if (!list) idx.set(s.name, (list = []));
    list.push(s);
  }
  return idx;
}

function first(idx: Index, names: readonly string[], how: 'sum' | 'max', where?: (s: PromSample) => boolean): number | null {
  for (const n of names) {
    const list = idx.get(n)?.filter((s) => (where ? where(s) : true));
    if (!list || list.length === 0) continue;
    return how === 'sum' ? list.reduce((a, s) => a + s.value, 0) : Math.max(...list.map((s) => s.value));
  }
  return null;
}

const direction = (want: 'cpu_to_gpu' | 'gpu_to_cpu') => (s: PromSample): boolean => (s.labels.transfer_type ?? '').toLowerCase() === want;

function one(idx: Index, name: string): number | null {
  return first(idx, [name], 'sum');
}

function plus(a: number | null, b: number | null): number | null {
  return a === null && b === null ? null : (a ?? 0) + (b ?? 0);
}

/** vLLM's KV capacity from the labels of `vllm:cache_config_info` (num_gpu_blocks × block_size tokens). */
function vllmCapacityTokens(idx: Index): number | null {
  let total = 0;
  let found = false;
  for (const s of idx.get('vllm:cache_config_info') ?? []) {
    const blocks = Number(s.labels.num_gpu_blocks);
    const size = Number(s.labels.block_size);
    if (Number.isFinite(blocks) && blocks > 0 && Number.isFinite(size) && size > 0) {
      total += blocks * size;
      found = true;
    }
  }
  return found ? total : null;
}

/** Read one parsed scrape into the signals. */
export function readSignals(text: PromText): EngineReading {
  const idx = indexByName(text.samples);
  let engine: EngineKind | null = null;
  for (const [prefix, kind] of ENGINE_OF_PREFIX) {
    if (METRIC_NAMES.running.some((n) => n.startsWith(prefix) && idx.has(n))) {
      engine = kind;
      break;
    }
  }
  const usedBlocks = one(idx, 'orbitflow:gpu_kv_blocks_used');
  const totalBlocks = one(idx, 'orbitflow:gpu_kv_blocks_total');
  const orbitflowUsage = usedBlocks !== null && totalBlocks !== null && totalBlocks > 0 ? usedBlocks / totalBlocks : null;
  return {
    engine,
    running: first(idx, METRIC_NAMES.running, 'sum'),
    waiting: first(idx, METRIC_NAMES.waiting, 'sum'),
    kvUsage: first(idx, METRIC_NAMES.kvUsage, 'max') ?? orbitflowUsage,
    preemptionsTotal: first(idx, METRIC_NAMES.preemptionsTotal, 'sum'),
    prefixHitsTotal: first(idx, METRIC_NAMES.prefixHitsTotal, 'sum'),
    prefixQueriesTotal: first(idx, METRIC_NAMES.prefixQueriesTotal, 'sum'),
    prefixHitRate: first(idx, METRIC_NAMES.prefixHitRate, 'max'),
    offloadBytesToGpuTotal:
      first(idx, METRIC_NAMES.offloadBytes, 'sum', direction('cpu_to_gpu')) ??
      plus(one(idx, 'orbitflow:h2d_fetched_bytes_total'), one(idx, 'orbitflow:h2d_reloaded_bytes_total')),
    offloadBytesToHostTotal: first(idx, METRIC_NAMES.offloadBytes, 'sum', direction('gpu_to_cpu')) ?? one(idx, 'orbitflow:d2h_write_through_bytes_total'),
    offloadSecondsToGpuTotal: first(idx, METRIC_NAMES.offloadSeconds, 'sum', direction('cpu_to_gpu')),
    offloadSecondsToHostTotal: first(idx, METRIC_NAMES.offloadSeconds, 'sum', direction('gpu_to_cpu')),
    kvCapacityTokens: vllmCapacityTokens(idx) ?? one(idx, 'sglang:max_total_num_tokens'),
    kvCapacityLayerBlocks: totalBlocks,
  };
}

/** Whether a scrape carried any signal at all (an answer with none is not an engine's /metrics). */
export function recognised(r: EngineReading): boolean {
  return r.running !== null || r.waiting !== null || r.kvUsage !== null || r.preemptionsTotal !== null;
}
