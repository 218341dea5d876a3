import { OrbitflowError } from '../core/errors.js';
import type { RequestRecord } from './request-record.js';
import { buildRunResult, type RunMetadata, type RunResult } from './run-result.js';
import type { LoadedRun } from './run-files.js';
import { scheduleOrder, type ShareSpec } from './shard.js';

/** One share's records, with where its clock started. */
export interface RunPart {
  records: readonly RequestRecord[];
  /** The share's t0 (Unix ms): its records' times are relative to it. */
  t0UnixMs: number;
  durationS: number;
}

export interface MergedRecords {
  records: RequestRecord[];
  durationS: number;
  /** The earliest share start: the merged run's t0. */
  t0UnixMs: number;
}

const shift = (x: number, by: number): number => (Number.isNaN(x) ? x : x + by);

/**
 * The shares as one client's run: every time moved onto the earliest start, records in schedule
 * order, duration to the last share's end. Only times move; the metrics are then computed once
 * over every record, so no percentile is ever averaged.
 */
export function mergeParts(parts: readonly RunPart[]): MergedRecords {
  const t0 = Math.min(...parts.map((p) => p.t0UnixMs));
  let endMs = 0;
  const all: RequestRecord[] = [];
  for (const p of parts) {
    const by = p.t0UnixMs - t0;
    endMs = Math.max(endMs, by + p.durationS * 1000);
    for (const r of p.records) all.push({ ...r, releasedMs: shift(r.releasedMs, by), sentMs: shift(r.sentMs, by), doneMs: shift(r.doneMs, by) });
  }
  return { records: scheduleOrder(all), durationS: endMs / 1000, t0UnixMs: t0 };
}

export interface ShardMetadata extends ShareSpec {
  start_at_unix_ms: number;
}

function refuse(message: string): OrbitflowError {
  return new OrbitflowError('OF_MERGE', `merge: ${message}`);
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Every shard of one sharded replay, each once: the same trace, seeds, start instant and scoring options. */
function checkShards(runs: readonly LoadedRun[]): ShardMetadata[] {
  const shards = runs.map((r) => {
    const s = r.result.metadata?.shard as ShardMetadata | null | undefined;
    if (s === null || s === undefined || typeof s.index !== 'number') throw refuse(`${r.source} is not a shard (replay it with --shard i/N --start-at MS)`);
    return s;
  });
  const first = runs[0].result.metadata;
  for (let k = 1; k < runs.length; k++) {
    const m = runs[k].result.metadata;
    const src = runs[k].source;
    if (m.trace?.sha256 !== first.trace?.sha256) throw refuse(`${src} replayed a different trace (sha256 ${m.trace?.sha256 ?? 'none'}) than ${runs[0].source} (${first.trace?.sha256 ?? 'none'})`);
    if (!same(m.seeds, first.seeds)) throw refuse(`${src} used different seeds (${JSON.stringify(m.seeds)}) than ${runs[0].source} (${JSON.stringify(first.seeds)})`);
    if (shards[k].count !== shards[0].count) throw refuse(`${src} is a shard of ${shards[k].count}, ${runs[0].source} of ${shards[0].count}`);
    if (shards[k].start_at_unix_ms !== shards[0].start_at_unix_ms) throw refuse(`${src} started at ${shards[k].start_at_unix_ms}, ${runs[0].source} at ${shards[0].start_at_unix_ms}: not one run`);
    for (const key of ['api', 'prompt', 'percentiles', 'slo', 'goodput', 'deposit', 'max_concurrency'] as const) {
      if (!same(m[key], first[key])) throw refuse(`${src} was replayed with a different ${key} (${JSON.stringify(m[key])}) than ${runs[0].source} (${JSON.stringify(first[key])})`);
    }
  }
  const seen = new Map<number, string>();
  for (let k = 0; k < runs.length; k++) {
    const prev = seen.get(shards[k].index);
    if (prev !== undefined) throw refuse(`${runs[k].source} and ${prev} are both shard ${shards[k].index}/${shards[k].count}`);
    seen.set(shards[k].index, runs[k].source);
  }
  const missing = Array.from({ length: shards[0].count }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length > 0) throw refuse(`shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${shards[0].count} missing`);
  return shards;
}

/** The shards' `--out` directories as one result, recomputed from all their records. */
export function mergeShardRuns(runs: readonly LoadedRun[]): { result: RunResult; records: RequestRecord[] } {
  if (runs.length === 0) throw refuse('give the --out directories of the shards');
  const shards = checkShards(runs);
  const merged = mergeParts(
    runs.map((r) => ({ records: r.records ?? [], t0UnixMs: (r.result.metadata.started_unix_ms as number | undefined) ?? shards[0].start_at_unix_ms, durationS: r.result.duration })),
  );
  // When each shard actually began, by its own clock: its t0 is the common instant, plus how late it woke.
  const began = runs.map((r) => ((r.result.metadata.started_unix_ms as number | undefined) ?? 0) + ((r.result.metadata.start_late_ms as number | undefined) ?? 0));
  const startSpreadMs = Math.max(...began) - Math.min(...began);
  const m0 = runs[0].result.metadata;
  const metadata: RunMetadata = {
    ...m0,
    command: m0.command,
    start_time: new Date(Math.min(...runs.map((r) => Date.parse(r.result.metadata.start_time)))).toISOString(),
    started_unix_ms: merged.t0UnixMs,
    shard: null,
    merged: {
      shards: shards[0].count,
      sources: runs.map((r) => r.source),
      start_at_unix_ms: shards[0].start_at_unix_ms,
      start_spread_ms: startSpreadMs,
    },
  };
  const result = buildRunResult(merged.records, {
    durationS: merged.durationS,
    percentiles: m0.percentiles,
    slo: m0.slo,
    deposit: m0.deposit,
    goodput: m0.goodput ?? undefined,
    maxErrorRate: m0.max_error_rate ?? 0.05,
    maxScheduleLagMs: m0.max_schedule_lag_ms ?? 10,
    interrupted: runs.some((r) => r.result.interrupted),
    metadata,
    saveDetailed: runs.every((r) => 'input_lens' in r.result),
  });
  const internal = runs.find((r) => r.result.internal_error !== null && r.result.internal_error !== undefined);
  if (internal) result.internal_error = `${internal.source}: ${internal.result.internal_error}`;
  return { result, records: merged.records };
}
