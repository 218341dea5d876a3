import { readInputFile } from '../core/input-file.js';
import { inputError, usageError } from '../core/errors.js';
import type { RawRow, ReaderContext } from './reader-context.js';
import { parseFiniteNumber, parseTokens } from './reader-context.js';

/** The artifact format is one JSON object read whole; its files hold ~100 requests. */
const MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;

/** Line of each `"request_<i>":` key, so errors in a pretty-printed artifact can name a line. */
function keyLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const re = /"(request_\d+)"\s*:/g;
  let line = 1;
  let pos = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    for (; pos < m.index; pos++) if (text.charCodeAt(pos) === 10) line++;
    if (!lines.has(m[1])) lines.set(m[1], line);
  }
  return lines;
}

/**
 * The OrbitFlow artifact trace (one JSON object; `requests.request_<i>` with `arrival_time` in
 * decode steps). The file is one object, so it is read whole: these files hold ~100 requests.
 * `stepMs` maps steps to time; `slo` (s/token) becomes the request's TPOT SLO; `category` its class.
 */
export async function* readOrbitflow(ctx: ReaderContext, stepMs: number | undefined): AsyncGenerator<RawRow[]> {
  if (stepMs === undefined) {
    throw usageError(
      '--step-ms',
      `${ctx.file} is an OrbitFlow artifact trace whose arrival_time is in decode steps; give the milliseconds per step (e.g. the profiled decode step time, --step-ms 30)`,
    );
  }
  const text = readInputFile(ctx.file, { what: 'trace', code: 'OF_TRACE_FILE', maxBytes: MAX_ARTIFACT_BYTES });
  ctx.counters.bytesRead = Buffer.byteLength(text);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw inputError('OF_TRACE_JSON', ctx.file, undefined, 'json', `not valid JSON (${(err as Error).message})`);
  }
  const requests = (doc as { requests?: unknown } | null)?.requests;
  if (typeof requests !== 'object' || requests === null || Array.isArray(requests)) {
    throw inputError('OF_TRACE_FIELD', ctx.file, undefined, 'requests', 'missing or not an object of request_<i> entries');
  }
  const lines = keyLines(text);
  const rows: (RawRow & { order: number })[] = [];
  for (const [key, value] of Object.entries(requests as Record<string, unknown>)) {
    const line = lines.get(key) ?? 1;
    const m = /^request_(\d+)$/.exec(key);
    if (!m) {
      ctx.bad(line, `requests.${key}`, 'expected keys named request_<i>');
      continue;
    }
    if (typeof value !== 'object' || value === null) {
      ctx.bad(line, `requests.${key}`, 'expected an object');
      continue;
    }
    const r = value as Record<string, unknown>;
    const arrival = parseFiniteNumber(r.arrival_time);
    if (typeof arrival === 'string' || arrival < 0) {
      ctx.bad(line, `requests.${key}.arrival_time`, typeof arrival === 'string' ? arrival : `negative (${arrival})`);
      continue;
    }
    const input = parseTokens(r.input_length);
    if (typeof input === 'string') {
      ctx.bad(line, `requests.${key}.input_length`, input);
      continue;
    }
    const output = parseTokens(r.output_length);
    if (typeof output === 'string') {
      ctx.bad(line, `requests.${key}.output_length`, output);
      continue;
    }
    let slo: RawRow['slo'];
    if (r.slo !== undefined && r.slo !== null) {
      const sPerToken = parseFiniteNumber(r.slo);
      if (typeof sPerToken === 'string' || sPerToken <= 0) {
        ctx.bad(line, `requests.${key}.slo`, typeof sPerToken === 'string' ? sPerToken : `not positive (${sPerToken})`);
        continue;
      }
      slo = { tpotMs: sPerToken * 1000 };
    }
    const row = {
      order: Number(m[1]),
      line,
      timeS: (arrival * stepMs) / 1000,
      inputTokens: input,
      outputTokens: output,
      id: key,
      class: typeof r.category === 'string' ? r.category : undefined,
      slo,
    };
    const field = (f: string): string => `requests.${key}.${f}`;
    const bound = ctx.outOfBounds(row, { time: field('arrival_time'), input: field('input_length'), output: field('output_length') });
    if (bound !== undefined) {
      ctx.bad(line, bound.field, bound.what);
      continue;
    }
    rows.push(row);
  }
  // A JSON object has no row order: arrival order, ties by request number.
  rows.sort((a, b) => a.timeS - b.timeS || a.order - b.order);
  yield rows.map(({ order: _order, ...row }) => row);
}
