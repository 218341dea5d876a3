import { usageError } from '../core/errors.js';
import { ArrivalMixer } from './arrival-mixer.js';
import { parseColumnMap } from './columns.js';
import { checkTraceFile, detectFormat } from './detect.js';
import { DEFAULT_TRACE_OPTIONS, TRANSFORM_BOUNDS, type TraceOptions } from './options.js';
import { QuantisationDetector } from './quantisation.js';
import { readAzure } from './read-azure.js';
import { readBurstGpt } from './read-burstgpt.js';
import { readGenericCsv, readGenericJsonl } from './read-generic.js';
import { readMooncake } from './read-mooncake.js';
import { readOrbitflow } from './read-orbitflow.js';
import { ReaderContext, type RawRow, type RowFields } from './reader-context.js';
import type { TraceFormat, TraceRequest } from './types.js';
import { emptyStats, warningsFor, type TraceReadStats } from './read-stats.js';

export type { TraceReadStats };

export interface OpenedTrace {
  file: string;
  format: TraceFormat;
  /** Streams the transformed requests (window, limit, speed-up, rate scale, jitter, clamps). */
  requests(): AsyncIterable<TraceRequest>;
  stats(): TraceReadStats;
}

const FIELDS: Record<TraceFormat, RowFields> = {
  azure: { time: 'TIMESTAMP', input: 'ContextTokens', output: 'GeneratedTokens' },
  mooncake: { time: 'timestamp', input: 'input_length', output: 'output_length' },
  burstgpt: { time: 'Timestamp', input: 'Request tokens', output: 'Response tokens' },
  orbitflow: { time: 'arrival_time', input: 'input_length', output: 'output_length' },
  csv: { time: 'time', input: 'input', output: 'output' },
  jsonl: { time: 'time', input: 'input', output: 'output' },
  synthetic: { time: 'time', input: 'input', output: 'output' },
};

function validate(file: string, o: TraceOptions): void {
  const b = TRANSFORM_BOUNDS;
  if (!(o.speedup >= b.speedup.min && o.speedup <= b.speedup.max)) throw usageError('--speedup', `expected a number in [${b.speedup.min}, ${b.speedup.max}], got ${o.speedup}`);
  if (!(o.rateScale > 0 && o.rateScale <= b.rateScale.max)) throw usageError('--rate-scale', `expected a number in (0, ${b.rateScale.max}], got ${o.rateScale}`);
  if (!(o.jitterMs >= 0 && o.jitterMs <= b.jitterMs.max)) throw usageError('--jitter', `expected a number of ms in [0, ${b.jitterMs.max}], got ${o.jitterMs}`);
  if (o.maxDurationS !== undefined && !(o.maxDurationS > 0 && Number.isFinite(o.maxDurationS))) throw usageError('--max-duration', `expected a positive number of seconds, got ${o.maxDurationS}`);
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit > 0)) throw usageError('--limit', `expected a positive integer, got ${o.limit}`);
  if (o.maxInput !== undefined && !(Number.isInteger(o.maxInput) && o.maxInput > 0)) throw usageError('--max-input', `expected a positive integer, got ${o.maxInput}`);
  if (o.maxOutput !== undefined && !(Number.isInteger(o.maxOutput) && o.maxOutput > 0)) throw usageError('--max-output', `expected a positive integer, got ${o.maxOutput}`);
  if (o.window !== undefined && !(o.window.startS >= 0 && o.window.durationS > 0)) throw usageError('--window', `expected START >= 0 and DURATION > 0 seconds (${file})`);
}

/**
 * Opens a trace: checks the file, picks the format (header / first line unless `format` forces
 * one) and returns a stream of transformed requests. Each call of `requests()` reads the file
 * afresh; `stats()` describes the latest read.
 *
 * Transform order: rebase (first row at 0 s) → window (trace seconds; rebased to the window
 * start) → jitter and rate scale (trace time, seeded, re-sorted) → speed-up → clamps → limit.
 */
export function openTrace(file: string, options: Partial<TraceOptions> = {}): OpenedTrace {
  const o: TraceOptions = { ...DEFAULT_TRACE_OPTIONS, ...options };
  validate(file, o);
  const fileBytes = checkTraceFile(file);
  const format = o.format ?? detectFormat(file, o.columns);
  if (o.filterModel !== undefined && format !== 'burstgpt') throw usageError('--filter-model', `applies to BurstGPT traces only (${file} is ${format})`);
  if (format === 'synthetic') throw usageError('--format', "'synthetic' is what generators produce, not a file format");
  const columns = format === 'csv' || format === 'jsonl' ? parseColumnMap(o.columns) : undefined;
  const fields: RowFields = columns !== undefined ? { time: columns.time, input: columns.input, output: columns.output } : FIELDS[format];
  let stats = emptyStats(fileBytes);

  const reader = (ctx: ReaderContext): AsyncGenerator<RawRow[]> => {
    switch (format) {
      case 'azure':
        return readAzure(ctx);
      case 'mooncake':
        return readMooncake(ctx);
      case 'burstgpt':
        return readBurstGpt(ctx, o.filterModel);
      case 'orbitflow':
        return readOrbitflow(ctx, o.stepMs);
      case 'csv':
        return readGenericCsv(ctx, columns!);
      case 'jsonl':
        return readGenericJsonl(ctx, columns!);
      default:
        throw new Error(`unreachable format ${format satisfies 'synthetic'}`);
    }
  };

  async function* requests(): AsyncGenerator<TraceRequest> {
    const s = emptyStats(fileBytes);
    stats = s;
    const ctx = new ReaderContext(file, o.skipBadRows, fields);
    const quant = new QuantisationDetector();
    const mixer = new ArrivalMixer<{ row: RawRow; sourceIndex: number }>(o.rateScale, o.jitterMs, o.seed);
    const windowEndS = o.window === undefined ? Infinity : o.window.startS + o.window.durationS;
    const limit = o.limit ?? Infinity;
    const endS = o.maxDurationS ?? Infinity;
    // Due after --max-duration: the read stops there (arrivals come out sorted).
    const pastEnd = (timeS: number): boolean => {
      if (timeS / o.speedup <= endS) return false;
      s.stoppedAtMaxDuration = true;
      return true;
    };
    let originS: number | undefined;
    let sourceIndex = 0;
    const sync = (): void => {
      s.rowsSkipped = ctx.counters.rowsSkipped;
      s.rowsFiltered = ctx.counters.rowsFiltered;
      s.skippedExamples = ctx.counters.skippedExamples;
      s.bytesRead = ctx.counters.bytesRead;
      s.rowsThinned = mixer.thinned;
      s.rowsReplicated = mixer.replicas;
      s.distinctTimestamps = quant.distinctTimestamps;
      s.quantisation = quant.result();
      s.warnings = warningsFor(s, o, ctx.counters.filterNote);
    };
    const finish = (m: { timeS: number; item: { row: RawRow; sourceIndex: number }; copy: number }): TraceRequest => {
      const { row, sourceIndex: si } = m.item;
      let inputTokens = row.inputTokens;
      let outputTokens = row.outputTokens;
      if (o.maxInput !== undefined && inputTokens > o.maxInput) {
        inputTokens = o.maxInput;
        s.clampedInput++;
      }
      if (o.maxOutput !== undefined && outputTokens > o.maxOutput) {
        outputTokens = o.maxOutput;
        s.clampedOutput++;
      }
      const baseId = row.id ?? `r${si}`;
      const arrivalS = m.timeS / o.speedup;
      if (s.requestsYielded > 0 && arrivalS - s.lastArrivalS > s.longestGap.s) s.longestGap = { s: arrivalS - s.lastArrivalS, line: row.line };
      s.lastArrivalS = arrivalS;
      const req: TraceRequest = {
        index: s.requestsYielded++,
        id: m.copy === 0 ? baseId : `${baseId}#${m.copy}`,
        arrivalS,
        inputTokens,
        outputTokens,
        sourceLine: row.line,
      };
      if (row.hashIds !== undefined) req.hashIds = row.hashIds;
      if (row.sessionId !== undefined) req.sessionId = row.sessionId;
      if (row.class !== undefined) req.class = row.class;
      if (row.slo !== undefined) req.slo = row.slo;
      return req;
    };

    try {
      let reachedEnd = true;
      reading: for await (const batch of reader(ctx)) {
        for (const row of batch) {
          originS ??= row.timeS;
          s.rowsRead++;
          const index = sourceIndex++;
          let t = row.timeS - originS;
          if (o.window !== undefined) {
            if (t < o.window.startS) {
              s.rowsOutsideWindow++;
              continue;
            }
            if (t >= windowEndS) {
              s.rowsOutsideWindow++;
              reachedEnd = false;
              break reading;
            }
            t -= o.window.startS;
          }
          quant.add(t);
          if (mixer.identity) {
            if (pastEnd(t)) {
              reachedEnd = false;
              break reading;
            }
            yield finish({ timeS: t, item: { row, sourceIndex: index }, copy: 0 });
            if (s.requestsYielded >= limit) {
              reachedEnd = false;
              break reading;
            }
            continue;
          }
          for (const m of mixer.push(t, { row, sourceIndex: index })) {
            if (pastEnd(m.timeS)) {
              reachedEnd = false;
              break reading;
            }
            yield finish(m);
            if (s.requestsYielded >= limit) {
              reachedEnd = false;
              break reading;
            }
          }
        }
      }
      if (s.requestsYielded < limit) {
        for (const m of mixer.flush()) {
          if (pastEnd(m.timeS)) {
            reachedEnd = false;
            break;
          }
          yield finish(m);
          if (s.requestsYielded >= limit) break;
        }
      }
      s.readToEnd = reachedEnd;
    } finally {
      sync();
    }
  }

  return {
    file,
    format,
    requests,
    stats: () => stats,
  };
}

/** The whole transformed trace as an array (for the engine's virtual-time mode and the planner). */
export async function loadTrace(
  file: string,
  options: Partial<TraceOptions> = {},
): Promise<{ requests: TraceRequest[]; stats: TraceReadStats; format: TraceFormat; file: string }> {
  const trace = openTrace(file, options);
  const requests: TraceRequest[] = [];
  for await (const r of trace.requests()) requests.push(r);
  return { requests, stats: trace.stats(), format: trace.format, file };
}
