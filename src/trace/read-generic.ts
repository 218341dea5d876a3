import type { ColumnMap } from './columns.js';
import type { RawRow, ReaderContext } from './reader-context.js';
import { parseTokens, rowBatches } from './reader-context.js';
import { parseJsonLine } from './read-mooncake.js';
import { headerIndex, readCsvBatches, readLineBatches } from './sources.js';
import { parseDateTime, secondsBetween, type ExactTime } from './timestamp.js';

/**
 * A time cell is a number in the map's unit, or a datetime string (read exactly, as for Azure).
 * One trace uses one kind: the first row decides.
 */
class TimeColumn {
  private mode: 'number' | 'datetime' | undefined;
  private origin: ExactTime | undefined;
  private numericOrigin: number | undefined;

  constructor(private readonly map: ColumnMap) {}

  parse(value: unknown): number | string {
    if (value === undefined || value === null || value === '') return 'missing';
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value.trim()) : NaN;
    if (Number.isFinite(n)) {
      if (this.mode === 'datetime') return `a number (${String(value)}) where earlier rows have datetimes`;
      this.mode = 'number';
      // Rebase in the column's own unit first: (5000250 − 5000000) / 1e6 is exactly 0.00025.
      this.numericOrigin ??= n;
      return (n - this.numericOrigin) / this.map.unitsPerS;
    }
    const t = typeof value === 'string' ? parseDateTime(value) : undefined;
    if (t === undefined || this.mode === 'number') return `not a number${this.mode === 'number' ? '' : ' or datetime'} ('${String(value)}')`;
    this.mode = 'datetime';
    this.origin ??= t;
    return secondsBetween(this.origin, t);
  }
}

function toRow(ctx: ReaderContext, map: ColumnMap, times: TimeColumn, line: number, get: (col: string) => unknown): RawRow | undefined {
  const timeS = times.parse(get(map.time));
  if (typeof timeS === 'string') {
    ctx.bad(line, map.time, timeS);
    return undefined;
  }
  const input = parseTokens(get(map.input));
  if (typeof input === 'string') {
    ctx.bad(line, map.input, input);
    return undefined;
  }
  const output = parseTokens(get(map.output));
  if (typeof output === 'string') {
    ctx.bad(line, map.output, output);
    return undefined;
  }
  const id = map.id === undefined ? undefined : get(map.id);
  return { line, timeS, inputTokens: input, outputTokens: output, id: id === undefined || id === null || id === '' ? undefined : String(id) };
}

/** Generic CSV with a header row, columns named by `--columns`. */
export async function* readGenericCsv(ctx: ReaderContext, map: ColumnMap): AsyncGenerator<RawRow[]> {
  const times = new TimeColumn(map);
  let index: Map<string, number> | undefined;
  yield* rowBatches(readCsvBatches(ctx), ({ line, cells }, out) => {
    if (index === undefined) {
      const need = [map.time, map.input, map.output, ...(map.id === undefined ? [] : [map.id])];
      index = headerIndex(ctx, cells, line, need);
      return;
    }
    const row = toRow(ctx, map, times, line, (col) => cells[index!.get(col)!]);
    if (row !== undefined) ctx.accept(out, row);
  });
}

/** Generic JSONL, keys named by `--columns`. */
export async function* readGenericJsonl(ctx: ReaderContext, map: ColumnMap): AsyncGenerator<RawRow[]> {
  const times = new TimeColumn(map);
  yield* rowBatches(readLineBatches(ctx), ({ line, text }, out) => {
    if (text.trim() === '') return;
    const obj = parseJsonLine(ctx, line, text);
    if (obj === undefined) return;
    const row = toRow(ctx, map, times, line, (col) => obj[col]);
    if (row !== undefined) ctx.accept(out, row);
  });
}
