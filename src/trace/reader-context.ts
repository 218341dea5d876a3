import { inputError, type ErrorCode } from '../core/errors.js';
import { MAX_REQUEST_TOKENS } from '../core/units.js';

/**
 * One row as a reader produces it, before rebasing and transforms. `timeS` is seconds from an
 * origin the reader picks (its first timestamp, or the trace's own zero); later stages rebase.
 */
export interface RawRow {
  line: number;
  timeS: number;
  inputTokens: number;
  outputTokens: number;
  id?: string;
  hashIds?: number[];
  sessionId?: string;
  class?: string;
  slo?: { ttftMs?: number; tpotMs?: number; tbtMs?: number; e2elMs?: number };
}

/** Counters a reader updates while it streams; `open.ts` folds them into the read stats. */
export interface ReaderCounters {
  bytesRead: number;
  rowsSkipped: number;
  /** Rows dropped on purpose (BurstGPT `--filter-model`, failed requests). */
  rowsFiltered: number;
  /** The first few skipped rows, as `file:line: field: what`, for the skip report. */
  skippedExamples: string[];
  /** Set by a reader to explain `rowsFiltered` in a warning. */
  filterNote?: string;
}

export const MAX_SKIP_EXAMPLES = 5;

/** The names a format gives its time, input and output fields, for error messages. */
export interface RowFields {
  time: string;
  input: string;
  output: string;
}

/**
 * What every reader gets: the file, whether to skip bad rows, and `bad()`, the one place a
 * malformed row is reported. `bad()` throws an exit-2 error naming file, line and field unless
 * skipping is on, in which case it counts the row and the reader moves on. `accept()` is the one
 * place a parsed row is checked against the bounds every request must meet to be replayed.
 */
export class ReaderContext {
  readonly counters: ReaderCounters = { bytesRead: 0, rowsSkipped: 0, rowsFiltered: 0, skippedExamples: [] };

  private firstS: number | undefined;
  private prevS: number | undefined;

  constructor(
    readonly file: string,
    readonly skipBadRows: boolean,
    readonly fields: RowFields,
  ) {}

  /**
   * The bounds of a replayable request, or why a row is out of them: a finite time, at least one
   * input and one output token, and no more than MAX_REQUEST_TOKENS of either (a count of 1e8
   * would otherwise reach a prompt allocation only when it comes due, mid-run).
   */
  outOfBounds(row: RawRow, fields: RowFields = this.fields): { field: string; what: string } | undefined {
    if (!Number.isFinite(row.timeS)) return { field: fields.time, what: `not a finite time (${row.timeS})` };
    for (const [field, n] of [[fields.input, row.inputTokens], [fields.output, row.outputTokens]] as const) {
      if (n < 1) return { field, what: `${n}: a request needs at least 1 token` };
      if (n > MAX_REQUEST_TOKENS) return { field, what: `${n} is over the ${MAX_REQUEST_TOKENS}-token limit of one request` };
    }
    return undefined;
  }

  /** Adds a parsed row to `out` unless it is out of bounds or its time goes backwards (a bad row like any other). */
  accept(out: RawRow[], row: RawRow): void {
    const bound = this.outOfBounds(row);
    if (bound !== undefined) {
      this.bad(row.line, bound.field, bound.what);
      return;
    }
    if (this.prevS !== undefined && row.timeS < this.prevS) {
      const first = this.firstS ?? 0;
      this.bad(row.line, this.fields.time, `time goes backwards (${(row.timeS - first).toFixed(6)} s after the first row, previous row ${(this.prevS - first).toFixed(6)} s)`, 'OF_TRACE_ORDER');
      return;
    }
    this.firstS ??= row.timeS;
    this.prevS = row.timeS;
    out.push(row);
  }

  bad(line: number, field: string, what: string, code: ErrorCode = 'OF_TRACE_FIELD'): void {
    const err = inputError(code, this.file, line, field, what);
    if (!this.skipBadRows) throw err;
    this.counters.rowsSkipped++;
    if (this.counters.skippedExamples.length < MAX_SKIP_EXAMPLES) this.counters.skippedExamples.push(err.message);
  }
}

const INTEGER = /^[+]?\d+$/;

/** Token counts: non-negative integers, from a CSV cell (string) or a JSON value (number). */
export function parseTokens(value: unknown): number | string {
  if (value === undefined || value === null || value === '') return 'missing';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return `not a number (${String(value)})`;
    if (!Number.isInteger(value)) return `not an integer (${value})`;
    if (value < 0) return `negative (${value})`;
    return value;
  }
  if (typeof value !== 'string') return `not a number (${JSON.stringify(value)})`;
  const text = value.trim();
  if (INTEGER.test(text)) return Number(text);
  const n = Number(text);
  if (text === '' || !Number.isFinite(n)) return `not a number ('${value}')`;
  if (n < 0) return `negative (${text})`;
  // '12.0' is still a whole count; '12.5' is not.
  if (!Number.isInteger(n)) return `not an integer (${text})`;
  return n;
}

/** A finite number from a CSV cell or JSON value; an error string otherwise. */
export function parseFiniteNumber(value: unknown): number | string {
  if (value === undefined || value === null || value === '') return 'missing';
  if (typeof value === 'number') return Number.isFinite(value) ? value : `not a number (${String(value)})`;
  if (typeof value !== 'string') return `not a number (${JSON.stringify(value)})`;
  const n = Number(value.trim());
  return value.trim() !== '' && Number.isFinite(n) ? n : `not a number ('${value}')`;
}

/**
 * Turn batches of source records into batches of rows, one callback per record. A bad record
 * throws (unless skipped), but only after the rows before it in its batch are handed on: a
 * --limit may be reached before the bad row and never need it.
 */
export async function* rowBatches<T>(batches: AsyncIterable<readonly T[]>, each: (record: T, out: RawRow[]) => void): AsyncGenerator<RawRow[]> {
  for await (const batch of batches) {
    const out: RawRow[] = [];
    let failure: unknown;
    try {
      for (const record of batch) each(record, out);
    } catch (err) {
      failure = err;
    }
    yield out;
    if (failure !== undefined) throw failure;
  }
}
