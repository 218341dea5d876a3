import { createRecord, type RequestRecord } from '../../src/replay/request-record.js';
import type { TraceRequest } from '../../src/trace/types.js';

export function traceRequest(index: number, over: Partial<TraceRequest> = {}): TraceRequest {
  return { index, id: `r${index}`, arrivalS: 0, inputTokens: 100, outputTokens: 4, sourceLine: index + 2, ...over };
}

/** A finished record with hand-set times (ms): sent at `sentMs`, token messages at `chunkMs` after it. */
export function okRecord(index: number, sentMs: number, chunkMs: number[], opts: { tokens?: number[]; usage?: number; expected?: number; prompt?: number; slo?: TraceRequest['slo'] } = {}): RequestRecord {
  const r = createRecord(traceRequest(index, { outputTokens: opts.expected ?? opts.usage ?? chunkMs.length, inputTokens: opts.prompt ?? 100, slo: opts.slo }), sentMs);
  r.releasedMs = sentMs;
  r.sentMs = sentMs;
  r.status = 'ok';
  r.httpStatus = 200;
  r.chunkMs = chunkMs;
  r.chunkTokens = opts.tokens ?? chunkMs.map(() => -1);
  if (opts.tokens) r.runningOutputTokens = opts.tokens.reduce((a, b) => a + b, 0);
  r.usageOutputTokens = opts.usage ?? null;
  r.doneMs = sentMs + (chunkMs[chunkMs.length - 1] ?? 0);
  return r;
}

export function failedRecord(index: number, sentMs: number, cause: RequestRecord['errorCause'], opts: { chunkMs?: number[]; expected?: number } = {}): RequestRecord {
  const r = createRecord(traceRequest(index, { outputTokens: opts.expected ?? 4 }), sentMs);
  r.releasedMs = sentMs;
  r.sentMs = sentMs;
  r.status = 'failed';
  r.errorCause = cause;
  r.chunkMs = opts.chunkMs ?? [];
  r.chunkTokens = r.chunkMs.map(() => -1);
  return r;
}
