import type { RawRow, ReaderContext } from './reader-context.js';
import { parseFiniteNumber, parseTokens, rowBatches } from './reader-context.js';
import { headerIndex, readCsvBatches } from './sources.js';

export const BURSTGPT_COLUMNS = ['Timestamp', 'Model', 'Request tokens', 'Response tokens'] as const;

/**
 * BurstGPT CSV, read by header name (newer releases insert `Session ID` and `Elapsed time`, which
 * shifts positions). `Timestamp` is seconds. Rows with `Response tokens` = 0 are failed requests
 * (the upstream `*_without_fails_*` files drop them): they are dropped and counted, not replayed.
 */
export async function* readBurstGpt(ctx: ReaderContext, filterModel?: string): AsyncGenerator<RawRow[]> {
  let index: Map<string, number> | undefined;
  let failed = 0;
  let otherModel = 0;
  const note = (): void => {
    const parts: string[] = [];
    if (otherModel > 0) parts.push(`${otherModel} rows of other models (--filter-model ${filterModel})`);
    if (failed > 0) parts.push(`${failed} failed requests (Response tokens = 0)`);
    ctx.counters.filterNote = parts.length > 0 ? `dropped ${parts.join(' and ')}` : undefined;
  };
  yield* rowBatches(readCsvBatches(ctx), ({ line, cells }, out) => {
    if (index === undefined) {
      index = headerIndex(ctx, cells, line, BURSTGPT_COLUMNS);
      return;
    }
    const cell = (name: string): string | undefined => {
      const i = index!.get(name);
      return i === undefined ? undefined : cells[i];
    };
    const model = (cell('Model') ?? '').trim();
    if (model === '') {
      ctx.bad(line, 'Model', 'missing');
      return;
    }
    const t = parseFiniteNumber(cell('Timestamp'));
    if (typeof t === 'string') {
      ctx.bad(line, 'Timestamp', t);
      return;
    }
    const input = parseTokens(cell('Request tokens'));
    if (typeof input === 'string') {
      ctx.bad(line, 'Request tokens', input);
      return;
    }
    const output = parseTokens(cell('Response tokens'));
    if (typeof output === 'string') {
      ctx.bad(line, 'Response tokens', output);
      return;
    }
    if (filterModel !== undefined && model !== filterModel) {
      otherModel++;
      ctx.counters.rowsFiltered++;
      note();
      return;
    }
    if (output === 0) {
      failed++;
      ctx.counters.rowsFiltered++;
      note();
      return;
    }
    const session = cell('Session ID')?.trim();
    ctx.accept(out, { line, timeS: t, inputTokens: input, outputTokens: output, class: model, sessionId: session === '' ? undefined : session });
  });
}
