import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { OrbitflowError, type ErrorCode } from '../core/errors.js';
import { createTimerClock, hrNowMs } from './clock.js';
import { mergeParts } from './merge-runs.js';
import type { RequestRecord } from './request-record.js';
import { buildRunResult } from './run-result.js';
import { runReplay, scoringOf, type ReplayConfig, type ReplayHooks, type ReplayOutcome } from './run-replay.js';
import { capShare, shareOf } from './shard.js';

/** What a worker thread gets: the run's config less what cannot cross a thread (clock, start gate), and its share. */
export interface WorkerInput {
  config: Omit<ReplayConfig, 'clock' | 'startAt'>;
  worker: number;
  workers: number;
}

export type WorkerMessage =
  | { type: 'ready' }
  /** Finished requests, slimmed for a progress view (see replay-worker.ts): not for metrics. */
  | { type: 'done'; recs: RequestRecord[] }
  | { type: 'finished'; outcome: { result: ReplayOutcome['result']; records: RequestRecord[]; t0UnixMs: number; t0HrMs: number; startLateMs: number; internalError: string | null } }
  | { type: 'error'; error: { code: ErrorCode; message: string; hint?: string } };

export type MainMessage = { type: 'start'; atMs: number } | { type: 'abort' };

const spread = (xs: readonly number[]): number => Math.max(...xs) - Math.min(...xs);

/**
 * A slimmed record's tokens (it keeps only its first and last message) for a tokens/s view: spread
 * evenly from the first message to the last, one call per second it spans.
 */
export function spreadTokens(rec: RequestRecord, onTokenChunk: (rec: RequestRecord) => void): void {
  const c = rec.chunkMs;
  if (c.length === 0) return;
  const from = c[0];
  const to = c[c.length - 1];
  const seconds = Math.max(1, Math.ceil((to - from) / 1000));
  const n = rec.runningOutputTokens;
  for (let k = 0; k < seconds; k++) {
    const share = Math.round((n * (k + 1)) / seconds) - Math.round((n * k) / seconds);
    if (share > 0) onTokenChunk({ ...rec, chunkMs: [from + ((to - from) * (k + 0.5)) / seconds], chunkTokens: [share] });
  }
}

/** Time from the last worker's "ready" to the common start: the start message must reach every thread first. */
const START_LEAD_MS = 100;

/**
 * `replay --workers N`: N worker threads, each with its own connection pool, timer thread and
 * every N-th request (shareOf), all started on one absolute instant once every one is ready;
 * their records are then merged exactly (mergeParts) and scored once, so the schedule lag, the
 * error rate and the degraded verdict cover every worker. Per-request hooks see each request
 * (slimmed for a progress view) within 50 ms of its end, released/sent/done together, its tokens
 * spread over the seconds it streamed; in-flight counts and single token messages are not forwarded.
 */
export async function runReplayWorkers(config: ReplayConfig, workers: number, hooks: ReplayHooks = {}, signal?: AbortSignal): Promise<ReplayOutcome> {
  if (workers <= 1) return runReplay(config, hooks, signal);
  const { clock: _clock, startAt, ...plain } = config;
  const threads: Worker[] = [];
  const finished: Array<Extract<WorkerMessage, { type: 'finished' }>['outcome']> = new Array(workers);
  let ready = 0;
  let failure: OrbitflowError | null = null;
  const mainClock = createTimerClock();
  const abortAll = (): void => {
    for (const t of threads) t.postMessage({ type: 'abort' } satisfies MainMessage);
  };
  const onAbort = (): void => abortAll();
  signal?.addEventListener('abort', onAbort, { once: true });

  const done = Array.from({ length: workers }, (_, w) => {
    const share = shareOf(config.requests, { index: w, count: workers });
    // An instant of our own choosing may be missed by a busy thread: it then starts a little late (merged exactly); a user's --start-at is kept strictly.
    const tolerance = startAt !== undefined ? config.startLateToleranceMs : Infinity;
    const maxConcurrency = capShare(config.maxConcurrency, { index: w, count: workers });
    // The run's cap, not this worker's part, is what the result reports (vLLM's max_concurrency).
    const runCap = plain.metadata.extra?.max_concurrency ?? (Number.isFinite(config.maxConcurrency) ? config.maxConcurrency : null);
    const metadata = { ...plain.metadata, extra: { ...plain.metadata.extra, max_concurrency: runCap } };
    const input: WorkerInput = { config: { ...plain, requests: share, maxConcurrency, metadata, startLateToleranceMs: tolerance }, worker: w, workers };
    const t = new Worker(new URL('./replay-worker.js', import.meta.url), { workerData: input });
    threads.push(t);
    return new Promise<void>((resolve) => {
      t.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') {
          ready++;
          if (ready === workers) void start();
        } else if (m.type === 'done') {
          for (const rec of m.recs) {
            hooks.onRequestEvent?.('released', rec);
            hooks.onRequestEvent?.('sent', rec);
            if (hooks.onTokenChunk !== undefined) spreadTokens(rec, hooks.onTokenChunk);
            hooks.onRequestEvent?.('done', rec);
          }
        } else if (m.type === 'finished') {
          finished[w] = m.outcome;
          resolve();
        } else if (m.type === 'error') {
          failure ??= new OrbitflowError(m.error.code, m.error.message, { hint: m.error.hint });
          abortAll();
          resolve();
        }
      });
      t.on('error', (e) => {
        failure ??= new OrbitflowError('OF_REPLAY_WORKER', `replay worker ${w}: ${e.message}`);
        abortAll();
        resolve();
      });
      t.on('exit', () => resolve());
    });
  });

  const start = async (): Promise<void> => {
    const atMs = startAt !== undefined ? await startAt() : hrNowMs() + START_LEAD_MS;
    for (const t of threads) t.postMessage({ type: 'start', atMs } satisfies MainMessage);
    const n = config.requests.length;
    const traceDurationS = config.requests.reduce((m, r) => Math.max(m, r.arrivalS), 0);
    hooks.onStart?.({ t0Ms: performance.now() + (atMs - hrNowMs()), modelName: config.modelName ?? '', total: n, traceDurationS, clock: mainClock });
  };

  try {
    await Promise.all(done);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await Promise.all(threads.map((t) => t.terminate()));
    mainClock.close();
  }
  if (failure !== null) throw failure;
  const got = finished.filter((o) => o !== undefined);
  if (got.length < workers) throw new OrbitflowError('OF_REPLAY_INTERRUPTED', 'replay: interrupted before every worker had started; nothing was measured');
  // Aligned on the hrtime clock (one clock for all threads); the Unix start is the earliest thread's.
  const parts = got.map((o) => ({ records: o.records, t0UnixMs: o.t0HrMs, durationS: o.result.duration }));
  const merged = mergeParts(parts);
  const t0UnixMs = Math.min(...got.map((o) => o.t0UnixMs));
  const m0 = finished[0].result.metadata;
  const result = buildRunResult(merged.records, {
    ...scoringOf(config),
    durationS: merged.durationS,
    interrupted: finished.some((o) => o.result.interrupted),
    metadata: { ...m0, started_unix_ms: t0UnixMs, start_late_ms: Math.max(...got.map((o) => o.startLateMs)), workers: { count: workers, start_spread_ms: spread(got.map((o) => o.startLateMs)) } },
  });
  const internal = finished.find((o) => o.internalError !== null);
  const outcome: ReplayOutcome = {
    result,
    records: merged.records,
    t0UnixMs,
    t0HrMs: merged.t0UnixMs,
    startLateMs: Math.max(...got.map((o) => o.startLateMs)),
    internalError: internal ? new Error(internal.internalError as string) : null,
  };
  if (internal) result.internal_error = internal.internalError;
  hooks.onFinish?.(outcome);
  return outcome;
}
