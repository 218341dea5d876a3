import { performance } from 'node:perf_hooks';
import { OrbitflowError } from '../core/errors.js';
import { setLongTimeout } from '../core/timers.js';
import { VERSION } from '../core/version.js';
import type { TraceRequest } from '../core/trace-request.js';
import { hrNowMs, type Clock } from './clock.js';
import { probeEndpoint, type Endpoint } from './endpoint.js';
import type { SloSpec } from './metrics-slo.js';
import type { GoodputSpec } from './metrics-vllm.js';
import { createOpenAiClient, type ClientListener } from './openai-client.js';
import { createPacer } from './pacer.js';
import { createPrecisionClock } from './precision-clock.js';
import type { PromptMode } from './prompt.js';
import { buildRequestBody, type ApiKind } from './request-body.js';
import { createRecord, type ErrorCause, type RequestRecord } from './request-record.js';
import { buildRunResult, type RunMetadata, type RunResult } from './run-result.js';

export interface ReplayConfig {
  endpoint: Endpoint;
  api: ApiKind;
  prompt: PromptMode;
  /** Served model name; when absent, the first id of GET /v1/models, else 'default'. */
  modelName?: string;
  /** Extra headers for every request (Authorization). Never written anywhere. */
  headers: Record<string, string>;
  /** The trace, already read and transformed; sorted here by arrival. */
  requests: readonly TraceRequest[];
  /** Infinity: no bound (every request is sent at its due time). */
  maxConcurrency: number;
  requestTimeoutMs: number;
  slo: SloSpec;
  deposit: boolean;
  goodput?: GoodputSpec;
  percentiles: number[];
  maxErrorRate: number;
  maxScheduleLagMs: number;
  /** Seed of the synthetic prompts. */
  seed: number;
  hashBlockTokens?: number;
  /** GET /v1/models must answer within this (default 3000 ms), else exit 3. */
  probeTimeoutMs?: number;
  /** Everything still running this long after the start is aborted (default: last arrival + request timeout + 10 s). */
  deadlineMs?: number;
  clock?: Clock;
  /** vLLM's --save-detailed: the result also carries its per-request lists. */
  saveDetailed?: boolean;
  /**
   * Called once ready (trace paced, endpoint probed, first body built): the instant to start the
   * schedule at, on the hrtime clock (hrNowMs: one clock for every thread of the process), rather
   * than at once: the common start of the shards (--start-at, converted by unixToHrMs) or of the
   * workers. Ready after it: refused (exit 2), nothing sent.
   */
  startAt?: () => number | Promise<number>;
  /** How late a ready share may still start (default 0: not at all). */
  startLateToleranceMs?: number;
  /** Run metadata known to the caller (command line, trace file and hash, trace seed). */
  metadata: Pick<RunMetadata, 'command' | 'trace'> & { traceSeed: number; extra?: Record<string, unknown> };
}

export type RequestEventType = 'released' | 'sent' | 'done';

/** Subscribers to the run as it happens (live view, and later the controller). Called synchronously; keep them cheap. */
/** What of a replay's configuration scores its records (one run, or the merge of its workers). */
export function scoringOf(config: ReplayConfig) {
  return {
    percentiles: config.percentiles,
    slo: config.slo,
    deposit: config.deposit,
    goodput: config.goodput,
    maxErrorRate: config.maxErrorRate,
    maxScheduleLagMs: config.maxScheduleLagMs,
    saveDetailed: config.saveDetailed,
  };
}

export interface ReplayHooks {
  onStart?(info: { t0Ms: number; modelName: string; total: number; traceDurationS: number; clock: Clock }): void;
  onRequestEvent?(type: RequestEventType, rec: RequestRecord): void;
  /** Every token-bearing SSE message: `rec.chunkMs`/`rec.chunkTokens` have just grown by one. */
  onTokenChunk?(rec: RequestRecord): void;
  onFinish?(outcome: ReplayOutcome): void;
}

export interface ReplayOutcome {
  result: RunResult;
  records: RequestRecord[];
  /** The run start t0 as Unix ms (performance.timeOrigin + now): where the records' times begin, for shards on other machines. */
  t0UnixMs: number;
  /** The run start t0 on the hrtime clock: the same instant, exact between threads (workers). */
  t0HrMs: number;
  /** With a common start (startAt): how long after that instant this thread woke (its first releases carry it as lag). */
  startLateMs: number;
  /** A subscriber threw (a bug): the run was stopped there, and this is what was thrown. */
  internalError: Error | null;
}

/**
 * The hooks, each made unable to throw into the client's socket callbacks: the first exception is
 * handed to `onError` (which stops the run, keeping what was measured) and later calls are skipped.
 */
function guardHooks(hooks: ReplayHooks, onError: (e: Error) => void): ReplayHooks {
  let failed = false;
  const guard = <A extends unknown[]>(fn: ((...args: A) => void) | undefined): ((...args: A) => void) | undefined =>
    fn === undefined
      ? undefined
      : (...args: A) => {
          if (failed) return;
          try {
            fn(...args);
          } catch (e) {
            failed = true;
            onError(e instanceof Error ? e : new Error(String(e)));
          }
        };
  return {
    onStart: guard(hooks.onStart?.bind(hooks)),
    onRequestEvent: guard(hooks.onRequestEvent?.bind(hooks)),
    onTokenChunk: guard(hooks.onTokenChunk?.bind(hooks)),
    onFinish: guard(hooks.onFinish?.bind(hooks)),
  };
}

/**
 * One replay: check the endpoint, pace the trace on an absolute schedule, stream every request,
 * and turn the records into the run result. `signal` (Ctrl-C) stops it early: queued requests
 * fail as `interrupted`, in-flight ones are aborted, and the partial result comes back.
 */
export async function runReplay(config: ReplayConfig, given: ReplayHooks = {}, signal?: AbortSignal): Promise<ReplayOutcome> {
  let internalError: Error | null = null;
  // Stopped from a microtask: the hook may have thrown inside a client callback.
  const hooks = guardHooks(given, (e) => {
    internalError = e;
    queueMicrotask(() => stopEarly('client', `run stopped by an internal error: ${e.message}`));
  });
  const probe = await probeEndpoint(config.endpoint, config.headers, config.probeTimeoutMs ?? 3000);
  const modelName = config.modelName ?? probe.modelIds[0] ?? 'default';

  const requests = [...config.requests].sort((a, b) => a.arrivalS - b.arrivalS || a.index - b.index);
  const n = requests.length;
  const dueMs = new Float64Array(n);
  const records: RequestRecord[] = new Array(n);
  for (let i = 0; i < n; i++) {
    dueMs[i] = requests[i].arrivalS * 1000;
    records[i] = createRecord(requests[i], dueMs[i]);
  }
  const traceDurationS = n === 0 ? 0 : requests[n - 1].arrivalS;
  const bodyOpts = { api: config.api, prompt: config.prompt, model: modelName, seed: config.seed, hashBlockTokens: config.hashBlockTokens };
  const prepared = new Map<number, Buffer>();

  const clock = config.clock ?? (await createPrecisionClock());
  const startTime = new Date().toISOString();
  let finishedCount = 0;
  let releasedAll = false;
  let endMs = Number.NaN;
  let interrupted = false;
  let releasedCount = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const checkDone = (): void => {
    if (releasedAll && finishedCount === releasedCount) {
      if (Number.isNaN(endMs)) endMs = clock.now();
      resolveDone();
    }
  };

  const onTokenChunk = hooks.onTokenChunk;
  const listener: ClientListener = {
    onTokenChunk: onTokenChunk === undefined ? undefined : (rec) => onTokenChunk(rec),
    onRead: (nowMs) => pacer.poke(nowMs),
    onRequestDone(rec) {
      finishedCount++;
      hooks.onRequestEvent?.('done', rec);
      pacer.finished();
      checkDone();
    },
  };
  const client = createOpenAiClient(
    { endpoint: config.endpoint, api: config.api, headers: config.headers, maxSockets: config.maxConcurrency, requestTimeoutMs: config.requestTimeoutMs, clock },
    listener,
  );

  // A body that cannot be built (a local resource limit) fails that request, never the run.
  const prepare = (i: number): void => {
    try {
      prepared.set(i, buildRequestBody(requests[i], bodyOpts));
    } catch {
      // start() builds it again and records why it failed.
    }
  };
  /** Ends a request that was never sent. */
  const failUnsent = (i: number, cause: ErrorCause, detail: string, nowMs: number): void => {
    const rec = records[i];
    rec.status = 'failed';
    rec.errorCause = cause;
    rec.errorDetail = detail;
    rec.doneMs = nowMs - t0;
    finishedCount++;
    hooks.onRequestEvent?.('done', rec);
  };

  // The first request is due at t0: build its body before the clock starts.
  if (n > 0) prepare(0);
  // With a common start, t0 IS that instant, however late this thread woke: every share paces
  // against the one schedule, and a late wake shows as the lag of the requests it delayed.
  let t0: number;
  let startLateMs = 0;
  if (config.startAt !== undefined) {
    t0 = await waitForStart(clock, await config.startAt(), config.startLateToleranceMs ?? 0, config.clock === undefined);
    startLateMs = Math.max(0, clock.now() - t0);
  } else t0 = clock.now();
  const t0HrMs = hrNowMs() - (clock.now() - t0);
  // Sub-millisecond, unlike Date.now(); exact in a process's main thread (a shard), where shards on one machine agree to microseconds.
  const t0UnixMs = performance.timeOrigin + t0;
  hooks.onStart?.({ t0Ms: t0, modelName, total: n, traceDurationS, clock });
  const pacer = createPacer(clock, t0, dueMs, config.maxConcurrency, {
    prepare,
    release(i, nowMs) {
      releasedCount++;
      const rec = records[i];
      rec.releasedMs = nowMs - t0;
      rec.status = 'queued';
      hooks.onRequestEvent?.('released', rec);
    },
    start(i, nowMs) {
      let body = prepared.get(i);
      if (body !== undefined) prepared.delete(i);
      else {
        try {
          body = buildRequestBody(requests[i], bodyOpts);
        } catch (e) {
          failUnsent(i, 'client', `cannot build the request body: ${(e as Error).message}`, nowMs);
          pacer.finished();
          checkDone();
          return;
        }
      }
      client.send(records[i], body, t0);
      hooks.onRequestEvent?.('sent', records[i]);
    },
  });

  const stopEarly = (cause: 'interrupted' | 'deadline' | 'client', detail: string): void => {
    if (!Number.isNaN(endMs)) return;
    endMs = clock.now();
    for (const i of pacer.stop()) failUnsent(i, cause, `${detail} while queued for a concurrency slot`, endMs);
    client.abortAll(cause, detail);
    releasedAll = true;
    checkDone();
  };
  const onAbort = (): void => {
    interrupted = true;
    stopEarly('interrupted', 'interrupted by signal');
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  const deadlineMs = config.deadlineMs ?? traceDurationS * 1000 + config.requestTimeoutMs + 10_000;
  const deadline = setLongTimeout(() => stopEarly('deadline', `run deadline of ${Math.round(deadlineMs)} ms reached`), deadlineMs);

  try {
    await pacer.run();
    releasedAll = true;
    checkDone();
    await done;
  } finally {
    deadline.clear();
    signal?.removeEventListener('abort', onAbort);
    client.close();
    if (config.clock === undefined) clock.close();
  }

  const durationS = (endMs - t0) / 1000;
  const metadata: RunMetadata = {
    command: config.metadata.command,
    orbitflow_version: VERSION,
    node_version: process.version,
    trace: config.metadata.trace,
    seeds: { trace: config.metadata.traceSeed, prompt: config.seed },
    endpoint: config.endpoint.display,
    api: config.api,
    prompt: config.prompt,
    model_name: modelName,
    max_concurrency: Number.isFinite(config.maxConcurrency) ? config.maxConcurrency : null,
    request_timeout_s: config.requestTimeoutMs / 1000,
    percentiles: config.percentiles,
    slo: config.slo,
    goodput: config.goodput ?? null,
    deposit: config.deposit,
    start_time: startTime,
    started_unix_ms: t0UnixMs,
    start_late_ms: startLateMs,
    max_error_rate: config.maxErrorRate,
    max_schedule_lag_ms: config.maxScheduleLagMs,
    ...config.metadata.extra,
  };
  const result = buildRunResult(records, {
    ...scoringOf(config),
    durationS,
    interrupted,
    metadata,
  });
  result.internal_error = internalError === null ? null : (internalError as Error).message;
  const outcome: ReplayOutcome = { result, records, internalError, t0UnixMs, t0HrMs, startLateMs };
  hooks.onFinish?.(outcome);
  return outcome;
}

/** Sleeps until the start instant and returns it on `clock`; refuses (exit 2, closing a clock it owns) when it has passed by more than the tolerance. */
async function waitForStart(clock: Clock, startAtHrMs: number, toleranceMs: number, ownsClock: boolean): Promise<number> {
  const target = clock.now() + (startAtHrMs - hrNowMs());
  const lateMs = clock.now() - target;
  if (lateMs > toleranceMs) {
    if (ownsClock) clock.close();
    throw new OrbitflowError(
      'OF_REPLAY_LATE_START',
      `--start-at: the start instant ${new Date(Date.now() - lateMs).toISOString()} passed ${lateMs.toFixed(1)} ms before this share was ready (trace read, endpoint probed); nothing was sent: give a later --start-at`,
      { context: { option: '--start-at' } },
    );
  }
  await clock.sleepUntil(target);
  return target;
}
