import { usageError } from '../core/errors.js';
import type { TraceFormat } from '../trace/types.js';
import { DEFAULT_TRACE_OPTIONS as D, TRANSFORM_BOUNDS, type TraceOptions } from '../trace/options.js';
import { flag, optional, withDefault, type OptionsOf, type OptionTable } from './option-table.js';
import { nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from './parse-options.js';

export type { TraceOptions };

function parseWindow(v: string): { startS: number; durationS: number } {
  const m = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(v);
  if (!m || Number(m[2]) <= 0) throw usageError('--window', `expected START:DURATION in seconds (e.g. 0:600), got '${v}'`);
  return { startS: Number(m[1]), durationS: Number(m[2]) };
}

/** The formats a file can be read as (`synthetic` is what the generator makes, never a file's format). */
const FILE_FORMATS = ['azure', 'mooncake', 'burstgpt', 'orbitflow', 'csv', 'jsonl'] as const satisfies readonly TraceFormat[];

/** How a trace is read and transformed: the same options for `replay` and `plan --trace`. */
export const TRACE_OPTIONS = {
  format: optional<TraceFormat>('--format <fmt>', 'trace format (default: detected from the header or first line)', { choices: FILE_FORMATS }),
  columns: optional('--columns <map>', 'generic CSV/JSONL columns: time=COL,input=COL,output=COL[,time-unit=s|ms|us] (default time unit s)'),
  stepMs: optional('--step-ms <ms>', 'OrbitFlow artifact traces: milliseconds per decode-step unit of arrival_time', { parse: positiveNumber }),
  filterModel: optional('--filter-model <name>', 'BurstGPT: keep only rows whose Model column equals this'),
  skipBadRows: flag('--skip-bad-rows', 'skip malformed rows and report how many, instead of stopping with exit 2'),
  window: optional('--window <start:duration>', 'replay only [START, START+DURATION) seconds of the trace'),
  limit: optional('--limit <n>', 'at most N requests (after the window)', { parse: positiveInt }),
  speedup: withDefault('--speedup <x>', `compress trace time by X (2 = twice as fast), in [${TRANSFORM_BOUNDS.speedup.min}, ${TRANSFORM_BOUNDS.speedup.max}]`, D.speedup, { parse: positiveNumber }),
  rateScale: withDefault('--rate-scale <x>', `thin (<1) or replicate (>1) arrivals, keeping burst structure, at most ${TRANSFORM_BOUNDS.rateScale.max}`, D.rateScale, { parse: positiveNumber }),
  jitter: withDefault('--jitter <ms>', 'spread timestamps uniformly by ±MS/2 (de-quantise bucketed traces)', D.jitterMs, { parse: nonNegativeNumber }),
  maxInput: optional('--max-input <tokens>', 'clamp input tokens (clamped rows are counted and reported)', { parse: positiveInt }),
  maxOutput: optional('--max-output <tokens>', 'clamp output tokens (clamped rows are counted and reported)', { parse: positiveInt }),
  maxDuration: optional('--max-duration <s>', 'replay at most S seconds of (sped-up) trace time: requests due later are not sent (default: the whole trace)', { parse: positiveNumber }),
  seed: withDefault('--seed <n>', 'seed for jitter, rate scaling and synthetic prompts', D.seed, { parse: nonNegativeInt }),
} satisfies OptionTable;

export type TraceCliOptions = OptionsOf<typeof TRACE_OPTIONS>;

export function traceOptionsFrom(o: TraceCliOptions): TraceOptions {
  return {
    format: o.format,
    columns: o.columns,
    stepMs: o.stepMs,
    filterModel: o.filterModel,
    skipBadRows: o.skipBadRows,
    window: o.window !== undefined ? parseWindow(o.window) : undefined,
    limit: o.limit,
    speedup: o.speedup,
    rateScale: o.rateScale,
    jitterMs: o.jitter,
    maxInput: o.maxInput,
    maxOutput: o.maxOutput,
    maxDurationS: o.maxDuration,
    seed: o.seed,
  };
}
