import type { RawRow, ReaderContext } from './reader-context.js';
import { parseFiniteNumber, parseTokens, rowBatches } from './reader-context.js';
import { readLineBatches } from './sources.js';

/** Parses one JSONL line into an object; reports and returns undefined when it is not one. */
export function parseJsonLine(ctx: ReaderContext, line: number, text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    ctx.bad(line, 'json', `not valid JSON (${(err as Error).message})`, 'OF_TRACE_JSON');
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.bad(line, 'json', 'expected one JSON object per line', 'OF_TRACE_JSON');
    return undefined;
  }
  return value as Record<string, unknown>;
}

/** Mooncake FAST'25 JSONL: `timestamp` (ms), `input_length`, `output_length`, `hash_ids` (one per 512 tokens). */
export async function* readMooncake(ctx: ReaderContext): AsyncGenerator<RawRow[]> {
  let originMs: number | undefined;
  yield* rowBatches(readLineBatches(ctx), ({ line, text }, out) => {
    if (text.trim() === '') return;
    const obj = parseJsonLine(ctx, line, text);
    if (obj === undefined) return;
    const ms = parseFiniteNumber(obj.timestamp);
    if (typeof ms === 'string') {
      ctx.bad(line, 'timestamp', ms);
      return;
    }
    const input = parseTokens(obj.input_length);
    if (typeof input === 'string') {
      ctx.bad(line, 'input_length', input);
      return;
    }
    const output = parseTokens(obj.output_length);
    if (typeof output === 'string') {
      ctx.bad(line, 'output_length', output);
      return;
    }
    let hashIds: number[] | undefined;
    if (obj.hash_ids !== undefined) {
      if (!Array.isArray(obj.hash_ids) || !obj.hash_ids.every((h) => Number.isInteger(h))) {
        ctx.bad(line, 'hash_ids', 'expected an array of integers');
        return;
      }
      hashIds = obj.hash_ids as number[];
    }
    originMs ??= ms;
    ctx.accept(out, { line, timeS: (ms - originMs) / 1000, inputTokens: input, outputTokens: output, hashIds });
  });
}
