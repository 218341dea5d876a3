import { parentPort, workerData } from 'node:worker_threads';
import { OrbitflowError, type ErrorCode } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import { outputTokens, type RequestRecord } from './request-record.js';
import { runReplay } from './run-replay.js';
import type { MainMessage, WorkerInput, WorkerMessage } from './run-workers.js';

// Worker-thread entry of `replay --workers N` (see runReplayWorkers): replay this share, on the
// start instant the main thread sends once every worker is ready.
const input = workerData as WorkerInput;
// Redaction state is per thread: this one must know the key too, before any error detail is cut.
const auth = input.config.headers.authorization;
if (typeof auth === 'string') registerSecret(auth.replace(/^Bearer\s+/i, ''));
const port = parentPort!;
const post = (m: WorkerMessage): void => port.postMessage(m);
const ac = new AbortController();

/**
 * Finished requests go to the main thread (its live view) in batches, each slimmed to what a
 * progress view reads (status, send time, first and last message, token count): a full record
 * per message would cost the worker more than the request did. The whole records follow at the end.
 */
const BATCH_MS = 50;
let batch: RequestRecord[] = [];
let flushTimer: NodeJS.Timeout | null = null;
const flush = (): void => {
  flushTimer = null;
  if (batch.length === 0) return;
  post({ type: 'done', recs: batch });
  batch = [];
};
const slim = (rec: RequestRecord): RequestRecord => {
  const c = rec.chunkMs;
  return { ...rec, chunkMs: c.length > 1 ? [c[0], c[c.length - 1]] : [...c], chunkTokens: [], choiceMs: null, usageOutputTokens: null, runningOutputTokens: outputTokens(rec) };
};
const onDone = (rec: RequestRecord): void => {
  batch.push(slim(rec));
  flushTimer ??= setTimeout(flush, BATCH_MS);
};
let resolveStart: ((atMs: number) => void) | null = null;
const started = new Promise<number>((r) => (resolveStart = r));
let gotStart = false;
port.on('message', (m: MainMessage) => {
  if (m.type === 'start') {
    gotStart = true;
    resolveStart?.(m.atMs);
  } else if (m.type === 'abort') {
    ac.abort();
    // Still waiting for the start: nothing was sent, nothing to keep.
    if (!gotStart) process.exit(0);
  }
});

runReplay(
  {
    ...input.config,
    startAt: () => {
      post({ type: 'ready' });
      return started;
    },
  },
  { onRequestEvent: (type, rec) => (type === 'done' ? onDone(rec) : undefined) },
  ac.signal,
).then(
  (o) => {
    if (flushTimer !== null) clearTimeout(flushTimer);
    flush();
    post({ type: 'finished', outcome: { result: o.result, records: o.records, t0UnixMs: o.t0UnixMs, t0HrMs: o.t0HrMs, startLateMs: o.startLateMs, internalError: o.internalError?.message ?? null } });
  },
  (e: unknown) => {
    const err = OrbitflowError.is(e) ? e : new OrbitflowError('OF_REPLAY_WORKER', `replay worker ${input.worker}: ${(e as Error)?.message ?? String(e)}`);
    post({ type: 'error', error: { code: err.code as ErrorCode, message: err.message, hint: err.hint } });
  },
);
