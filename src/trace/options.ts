import type { TraceFormat } from './types.js';

/** Trace reading and transform options shared by `replay` and `plan --trace`. */
export interface TraceOptions {
  format?: TraceFormat;
  /** Generic CSV/JSONL column map: `time=…,input=…,output=…[,time-unit=s|ms|us]`. */
  columns?: string;
  /** OrbitFlow artifact traces: milliseconds per decode-step unit of `arrival_time`. */
  stepMs?: number;
  /** BurstGPT: keep rows whose `Model` equals this. */
  filterModel?: string;
  skipBadRows: boolean;
  window?: { startS: number; durationS: number };
  limit?: number;
  speedup: number;
  rateScale: number;
  jitterMs: number;
  maxInput?: number;
  maxOutput?: number;
  seed: number;
}

export const DEFAULT_TRACE_OPTIONS: TraceOptions = { skipBadRows: false, speedup: 1, rateScale: 1, jitterMs: 0, seed: 0 };
