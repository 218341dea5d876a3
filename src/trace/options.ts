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
  /** Requests due (after the speed-up) later than this many seconds are not replayed. */
  maxDurationS?: number;
  seed: number;
}

/**
 * The ranges a transform is accepted in: beyond them a trace turns into years of replay
 * (`--speedup 1e-300`), billions of copies (`--rate-scale 1e9`) or a spread wider than any trace.
 */
export const TRANSFORM_BOUNDS = {
  speedup: { min: 1e-3, max: 1e6 },
  rateScale: { max: 100 },
  jitterMs: { max: 3_600_000 },
} as const;

/** A replay whose arrivals span more than this gets a warning (bound it with --max-duration). */
export const LONG_TRACE_S = 24 * 3600;

export const DEFAULT_TRACE_OPTIONS: TraceOptions = { skipBadRows: false, speedup: 1, rateScale: 1, jitterMs: 0, seed: 0 };
