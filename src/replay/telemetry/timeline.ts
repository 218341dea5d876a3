import type { EngineKind, EngineReading } from './metric-names.js';

/**
 * The engine's telemetry of one replay as the run result keeps it (`telemetry` in
 * `orbitflow.run/v1`): a timeline of scrapes (seconds from the run's start) and a summary.
 * Snake_case: written as JSON.
 */
export interface TelemetryPoint {
  t_s: number;
  running?: number;
  waiting?: number;
  kv_usage?: number;
  preemptions_total?: number;
  prefix_hits_total?: number;
  prefix_queries_total?: number;
  prefix_hit_rate?: number;
  offload_bytes_to_gpu_total?: number;
  offload_bytes_to_host_total?: number;
  offload_s_to_gpu_total?: number;
  offload_s_to_host_total?: number;
}

export interface TelemetrySummary {
  peak_running: number | null;
  peak_waiting: number | null;
  /** Whether any scrape saw a request waiting; null when the engine exports no waiting count. */
  ever_queued: boolean | null;
  peak_kv_usage: number | null;
  /** Counter increase from the first to the last scrape (resets counted from zero). */
  preemptions: number | null;
  prefix_cache_hits: number | null;
  prefix_cache_queries: number | null;
  kv_offload_bytes: { to_gpu: number | null; to_host: number | null } | null;
  kv_offload_s: { to_gpu: number | null; to_host: number | null } | null;
  /** GPU KV capacity the engine reported: tokens of the whole model, or per-layer blocks (the reference engine). */
  kv_capacity: { tokens: number | null; layer_blocks: number | null } | null;
}

export interface TelemetryReport {
  enabled: true;
  /** The scraped URL, as displayed (no credentials). */
  url: string;
  interval_s: number;
  engine: EngineKind | null;
  scrapes: number;
  /** Scrapes with a recognised answer; the timeline has one point each. */
  samples: number;
  failed_scrapes: number;
  /** The first failure, reported once on stderr as it happened. */
  first_error: string | null;
  summary: TelemetrySummary;
  timeline: TelemetryPoint[];
}

export interface TelemetryOff {
  enabled: false;
  reason: string;
}

export type Telemetry = TelemetryReport | TelemetryOff;

const FIELDS: Array<[keyof EngineReading, keyof TelemetryPoint]> = [
  ['running', 'running'],
  ['waiting', 'waiting'],
  ['kvUsage', 'kv_usage'],
  ['preemptionsTotal', 'preemptions_total'],
  ['prefixHitsTotal', 'prefix_hits_total'],
  ['prefixQueriesTotal', 'prefix_queries_total'],
  ['prefixHitRate', 'prefix_hit_rate'],
  ['offloadBytesToGpuTotal', 'offload_bytes_to_gpu_total'],
  ['offloadBytesToHostTotal', 'offload_bytes_to_host_total'],
  ['offloadSecondsToGpuTotal', 'offload_s_to_gpu_total'],
  ['offloadSecondsToHostTotal', 'offload_s_to_host_total'],
];

export function toPoint(tS: number, r: EngineReading): TelemetryPoint {
  const p: TelemetryPoint = { t_s: Math.round(tS * 1000) / 1000 };
  for (const [from, to] of FIELDS) {
    const v = r[from];
    if (typeof v === 'number') (p as unknown as Record<string, number>)[to] = v;
  }
  return p;
}

function peak(points: readonly TelemetryPoint[], key: keyof TelemetryPoint): number | null {
  let best: number | null = null;
  for (const p of points) {
    const v = p[key];
    if (typeof v === 'number' && (best === null || v > best)) best = v;
  }
  return best;
}

/** A counter's increase over the points; a drop (restart) counts the new value from zero. */
export function counterIncrease(points: readonly TelemetryPoint[], key: keyof TelemetryPoint): number | null {
  let prev: number | null = null;
  let total = 0;
  let seen = false;
  for (const p of points) {
    const v = p[key];
    if (typeof v !== 'number') continue;
    if (prev !== null) total += v >= prev ? v - prev : v;
    prev = v;
    seen = true;
  }
  return seen ? total : null;
}

export function summarise(points: readonly TelemetryPoint[], capacity: { tokens: number | null; layerBlocks: number | null }): TelemetrySummary {
  const peakWaiting = peak(points, 'waiting');
  const toGpu = counterIncrease(points, 'offload_bytes_to_gpu_total');
  const toHost = counterIncrease(points, 'offload_bytes_to_host_total');
  const sGpu = counterIncrease(points, 'offload_s_to_gpu_total');
  const sHost = counterIncrease(points, 'offload_s_to_host_total');
  return {
    peak_running: peak(points, 'running'),
    peak_waiting: peakWaiting,
    ever_queued: peakWaiting === null ? null : peakWaiting > 0,
    peak_kv_usage: peak(points, 'kv_usage'),
    preemptions: counterIncrease(points, 'preemptions_total'),
    prefix_cache_hits: counterIncrease(points, 'prefix_hits_total'),
    prefix_cache_queries: counterIncrease(points, 'prefix_queries_total'),
    kv_offload_bytes: toGpu === null && toHost === null ? null : { to_gpu: toGpu, to_host: toHost },
    kv_offload_s: sGpu === null && sHost === null ? null : { to_gpu: sGpu, to_host: sHost },
    kv_capacity: capacity.tokens === null && capacity.layerBlocks === null ? null : { tokens: capacity.tokens, layer_blocks: capacity.layerBlocks },
  };
}
