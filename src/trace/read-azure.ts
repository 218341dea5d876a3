import type { RawRow, ReaderContext } from './reader-context.js';
import { parseTokens, rowBatches } from './reader-context.js';
import { headerIndex, readCsvBatches } from './sources.js';
import { parseDateTime, secondsBetween, type ExactTime } from './timestamp.js';

export const AZURE_COLUMNS = ['TIMESTAMP', 'ContextTokens', 'GeneratedTokens'] as const;

/**
 * Azure LLM inference traces (2023: `2023-11-16 18:15:46.6805900`; 2024: tz-aware µs,
 * `2024-05-12 00:00:00.001163+00:00`). Times are seconds from the first row, exact to the digit.
 */
export async function* readAzure(ctx: ReaderContext): AsyncGenerator<RawRow[]> {
  let index: Map<string, number> | undefined;
  let origin: ExactTime | undefined;
  yield* rowBatches(readCsvBatches(ctx), ({ line, cells }, out) => {
    if (index === undefined) {
      index = headerIndex(ctx, cells, line, AZURE_COLUMNS);
      return;
    }
    const stamp = cells[index.get('TIMESTAMP')!];
    const t = stamp === undefined || stamp === '' ? undefined : parseDateTime(stamp);
    if (t === undefined) {
      ctx.bad(line, 'TIMESTAMP', stamp === undefined || stamp === '' ? 'missing' : `not a datetime ('${stamp}'; expected YYYY-MM-DD HH:MM:SS.fffffff[+HH:MM])`);
      return;
    }
    const input = parseTokens(cells[index.get('ContextTokens')!]);
    if (typeof input === 'string') {
      ctx.bad(line, 'ContextTokens', input);
      return;
    }
    const output = parseTokens(cells[index.get('GeneratedTokens')!]);
    if (typeof output === 'string') {
      ctx.bad(line, 'GeneratedTokens', output);
      return;
    }
    origin ??= t;
    ctx.accept(out, { line, timeS: secondsBetween(origin, t), inputTokens: input, outputTokens: output });
  });
}
