import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import { inputError } from '../core/errors.js';
import type { ReaderContext } from './reader-context.js';

// Both sources stream a file of any size in 64 KiB chunks and hand rows on in batches, one batch
// per chunk: an async step per row (readline's or a stream's async iterator) costs more than the
// parsing itself. Stopping the iteration early (--limit, the --window end) destroys the file
// stream, so the rest of the file is never read.

/** A JSONL line longer than this is not a trace row. */
const MAX_LINE_CHARS = 64 * 1024 * 1024;

export interface Line {
  line: number;
  text: string;
}

/**
 * The file's lines with 1-based numbers, CRLF or LF, a missing final newline allowed. Lines are
 * split here rather than by readline so a whole chunk's lines go out as one batch.
 */
export async function* readLineBatches(ctx: ReaderContext): AsyncGenerator<Line[]> {
  const stream = createReadStream(ctx.file, { encoding: 'utf8' });
  let line = 0;
  let rest = '';
  // The pieces of a line longer than a chunk, joined once it ends (re-joining per chunk is quadratic).
  let long: string[] = [];
  let longChars = 0;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      ctx.counters.bytesRead = stream.bytesRead;
      const text = line === 0 && rest === '' && longChars === 0 && chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk;
      if (text.indexOf('\n') === -1) {
        long.push(text);
        longChars += text.length;
        if (longChars > MAX_LINE_CHARS) throw inputError('OF_TRACE_LINE', ctx.file, line + 1, 'line', `longer than ${MAX_LINE_CHARS / (1024 * 1024)} Mi characters`);
        continue;
      }
      if (longChars > 0) {
        rest += long.join('');
        long = [];
        longChars = 0;
      }
      const parts = (rest + text).split('\n');
      rest = parts.pop()!;
      const batch: Line[] = new Array(parts.length);
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i];
        batch[i] = { line: ++line, text: p.endsWith('\r') ? p.slice(0, -1) : p };
      }
      yield batch;
    }
    rest += long.join('');
    if (rest !== '') yield [{ line: ++line, text: rest.endsWith('\r') ? rest.slice(0, -1) : rest }];
  } finally {
    stream.destroy();
  }
}

/** Everything an object-mode stream has buffered, one array per wake-up. */
async function* drain<T>(r: Readable): AsyncGenerator<T[]> {
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  r.on('readable', poke);
  r.on('end', () => {
    ended = true;
    poke();
  });
  r.on('error', (err) => {
    failure = err;
    poke();
  });
  for (;;) {
    if (failure !== undefined) throw failure;
    const batch: T[] = [];
    for (let x = r.read() as T | null; x !== null; x = r.read() as T | null) batch.push(x);
    if (batch.length > 0) {
      yield batch;
      continue;
    }
    if (ended) return;
    await new Promise<void>((resolve) => (wake = resolve));
  }
}

export interface CsvRecord {
  line: number;
  cells: string[];
}

/**
 * CSV records (header included) with the 1-based line each ends on; quoting handled by csv-parse.
 * Lines are counted here rather than with csv-parse's `info` option, which copies an info object
 * per record and doubled the cost of a read: with `skip_empty_lines` off every line yields a
 * record (a blank one `['']`), so a record ends one line after the previous one plus the line
 * breaks inside its quoted cells.
 */
export async function* readCsvBatches(ctx: ReaderContext): AsyncGenerator<CsvRecord[]> {
  const stream = createReadStream(ctx.file);
  const parser = parse({ bom: true, relax_column_count: true, relax_quotes: true });
  stream.on('error', (err) => parser.destroy(err));
  stream.pipe(parser);
  let line = 0;
  try {
    for await (const recs of drain<string[]>(parser)) {
      ctx.counters.bytesRead = stream.bytesRead;
      const batch: CsvRecord[] = [];
      for (const cells of recs) {
        line++;
        for (const c of cells) for (let i = c.indexOf('\n'); i !== -1; i = c.indexOf('\n', i + 1)) line++;
        if (cells.length === 1 && cells[0].trim() === '') continue;
        batch.push({ line, cells });
      }
      yield batch;
    }
    ctx.counters.bytesRead = stream.bytesRead;
  } catch (err) {
    if (err instanceof CsvError) {
      const at = (err as unknown as { lines?: number }).lines;
      throw inputError('OF_TRACE_CSV', ctx.file, at, 'csv', err.message);
    }
    throw err;
  } finally {
    stream.unpipe(parser);
    stream.destroy();
    parser.destroy();
  }
}

/** Maps header names to column positions; `need` lists the columns that must be there. */
export function headerIndex(ctx: ReaderContext, header: string[], line: number, need: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  header.forEach((name, i) => {
    const key = name.trim();
    if (!index.has(key)) index.set(key, i);
  });
  const missing = need.filter((n) => !index.has(n));
  if (missing.length > 0) {
    throw inputError('OF_TRACE_HEADER', ctx.file, line, 'header', `missing column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} (header is: ${header.join(',')})`);
  }
  return index;
}
