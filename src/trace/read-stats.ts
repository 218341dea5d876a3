import { LONG_TRACE_S, type TraceOptions } from './options.js';

function duration(s: number): string {
  if (s >= 2 * 86400) return `${(s / 86400).toFixed(1)} days`;
  if (s >= 7200) return `${(s / 3600).toFixed(1)} h`;
  return `${s.toFixed(0)} s`;
}

/** What reading a trace counted, valid once iteration has finished. */
export interface TraceReadStats {
  rowsRead: number;
  rowsSkipped: number;
  clampedInput: number;
  clampedOutput: number;
  /** Set when timestamps sit on a coarse grid (Mooncake's ~3 s buckets). */
  quantisation: { distinctTimestamps: number; gridMs: number } | null;
  warnings: string[];
  /** Valid rows dropped on purpose (BurstGPT: --filter-model, failed requests). */
  rowsFiltered: number;
  /** Valid rows outside --window. */
  rowsOutsideWindow: number;
  /** Arrivals dropped by a rate scale below 1, and copies added by one above 1. */
  rowsThinned: number;
  rowsReplicated: number;
  /** Requests the stream yielded. */
  requestsYielded: number;
  /** Distinct source timestamps seen (after the window, before jitter). */
  distinctTimestamps: number;
  /** The first few skipped rows as `file:line: field: what`. */
  skippedExamples: string[];
  bytesRead: number;
  fileBytes: number;
  /** False when --limit, the --window end or --max-duration stopped reading before the end of the file. */
  readToEnd: boolean;
  /** Arrival (s, after the speed-up) of the last request yielded, and the longest gap before one. */
  lastArrivalS: number;
  longestGap: { s: number; line: number };
  /** --max-duration cut the trace short. */
  stoppedAtMaxDuration: boolean;
}

export function emptyStats(fileBytes: number): TraceReadStats {
  return {
    rowsRead: 0,
    rowsSkipped: 0,
    clampedInput: 0,
    clampedOutput: 0,
    quantisation: null,
    warnings: [],
    rowsFiltered: 0,
    rowsOutsideWindow: 0,
    rowsThinned: 0,
    rowsReplicated: 0,
    requestsYielded: 0,
    distinctTimestamps: 0,
    skippedExamples: [],
    bytesRead: 0,
    fileBytes,
    readToEnd: false,
    lastArrivalS: 0,
    longestGap: { s: 0, line: 0 },
    stoppedAtMaxDuration: false,
  };
}

/** The warnings a read ends with: skipped rows, filters, quantisation (with the --jitter advice), clamps. */
export function warningsFor(s: TraceReadStats, o: TraceOptions, filterNote: string | undefined): string[] {
  const w: string[] = [];
  if (s.rowsSkipped > 0) w.push(`skipped ${s.rowsSkipped} malformed row${s.rowsSkipped === 1 ? '' : 's'} (--skip-bad-rows); first: ${s.skippedExamples[0]}`);
  if (filterNote !== undefined) w.push(filterNote);
  if (s.quantisation !== null && o.jitterMs === 0) {
    const g = s.quantisation.gridMs;
    w.push(
      `timestamps sit on a ~${Math.round(g)} ms grid (${s.quantisation.distinctTimestamps} distinct for ${s.rowsRead - s.rowsOutsideWindow} rows): ` +
        `a replay sends a burst every ~${(g / 1000).toFixed(1)} s; --jitter ${Math.round(g)} spreads each bucket over its grid step`,
    );
  }
  if (s.clampedInput > 0) w.push(`clamped input tokens of ${s.clampedInput} request${s.clampedInput === 1 ? '' : 's'} to --max-input ${o.maxInput}`);
  if (s.clampedOutput > 0) w.push(`clamped output tokens of ${s.clampedOutput} request${s.clampedOutput === 1 ? '' : 's'} to --max-output ${o.maxOutput}`);
  if (s.stoppedAtMaxDuration) w.push(`stopped at --max-duration ${o.maxDurationS} s: requests due later are not replayed`);
  else if (s.lastArrivalS > LONG_TRACE_S) {
    w.push(
      `arrivals span ${duration(s.lastArrivalS)} (the longest gap, ${duration(s.longestGap.s)}, ends at line ${s.longestGap.line}): ` +
        'a replay takes that long; bound it with --max-duration S or --window START:DURATION',
    );
  }
  if (s.requestsYielded === 0 && s.readToEnd) w.push('no requests left to replay (after skipped rows, filters, the window and the rate scale)');
  return w;
}

