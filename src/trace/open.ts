import type { TraceOptions } from './options.js';
import type { TraceFormat, TraceRequest } from './types.js';

// Interface placeholder; the trace readers implement it (issue: replay).

/** What reading a trace counted, valid once iteration has finished. */
export interface TraceReadStats {
  rowsRead: number;
  rowsSkipped: number;
  clampedInput: number;
  clampedOutput: number;
  /** Set when timestamps sit on a coarse grid (Mooncake's ~3 s buckets). */
  quantisation: { distinctTimestamps: number; gridMs: number } | null;
  warnings: string[];
}

export interface OpenedTrace {
  file: string;
  format: TraceFormat;
  /** Streams the transformed requests (window, limit, speed-up, rate scale, jitter, clamps). */
  requests(): AsyncIterable<TraceRequest>;
  stats(): TraceReadStats;
}

export function openTrace(_file: string, _opts: TraceOptions): OpenedTrace {
  throw new Error('trace readers not built yet');
}
