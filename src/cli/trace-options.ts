import { Option, type Command } from 'commander';
import { usageError } from '../core/errors.js';
import type { TraceFormat } from '../trace/types.js';
import { DEFAULT_TRACE_OPTIONS as D, TRANSFORM_BOUNDS, type TraceOptions } from '../trace/options.js';

export type { TraceOptions };
import { nonNegativeNumber, positiveInt, positiveNumber, nonNegativeInt } from './parse-options.js';

function parseWindow(v: string): { startS: number; durationS: number } {
  const m = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(v);
  if (!m || Number(m[2]) <= 0) throw usageError('--window', `expected START:DURATION in seconds (e.g. 0:600), got '${v}'`);
  return { startS: Number(m[1]), durationS: Number(m[2]) };
}

export function addTraceOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--format <fmt>', 'trace format (default: detected from the header or first line)').choices(['azure', 'mooncake', 'burstgpt', 'orbitflow', 'csv', 'jsonl']))
    .option('--columns <map>', 'generic CSV/JSONL columns: time=COL,input=COL,output=COL[,time-unit=s|ms|us] (default time unit s)')
    .option('--step-ms <ms>', 'OrbitFlow artifact traces: milliseconds per decode-step unit of arrival_time', positiveNumber)
    .option('--filter-model <name>', 'BurstGPT: keep only rows whose Model column equals this')
    .option('--skip-bad-rows', 'skip malformed rows and report how many, instead of stopping with exit 2', D.skipBadRows)
    .option('--window <start:duration>', 'replay only [START, START+DURATION) seconds of the trace')
    .option('--limit <n>', 'at most N requests (after the window)', positiveInt)
    .option('--speedup <x>', `compress trace time by X (2 = twice as fast), in [${TRANSFORM_BOUNDS.speedup.min}, ${TRANSFORM_BOUNDS.speedup.max}]`, positiveNumber, D.speedup)
    .option('--rate-scale <x>', `thin (<1) or replicate (>1) arrivals, keeping burst structure, at most ${TRANSFORM_BOUNDS.rateScale.max}`, positiveNumber, D.rateScale)
    .option('--jitter <ms>', 'spread timestamps uniformly by ±MS/2 (de-quantise bucketed traces)', nonNegativeNumber, D.jitterMs)
    .option('--max-input <tokens>', 'clamp input tokens (clamped rows are counted and reported)', positiveInt)
    .option('--max-output <tokens>', 'clamp output tokens (clamped rows are counted and reported)', positiveInt)
    .option('--max-duration <s>', 'replay at most S seconds of (sped-up) trace time: requests due later are not sent (default: the whole trace)', positiveNumber)
    .option('--seed <n>', 'seed for jitter, rate scaling and synthetic prompts', nonNegativeInt, D.seed);
}

export function traceOptionsFrom(o: Record<string, unknown>): TraceOptions {
  return {
    format: o.format as TraceFormat | undefined,
    columns: o.columns as string | undefined,
    stepMs: o.stepMs as number | undefined,
    filterModel: o.filterModel as string | undefined,
    skipBadRows: (o.skipBadRows as boolean | undefined) ?? D.skipBadRows,
    window: typeof o.window === 'string' ? parseWindow(o.window) : undefined,
    limit: o.limit as number | undefined,
    speedup: (o.speedup as number | undefined) ?? D.speedup,
    rateScale: (o.rateScale as number | undefined) ?? D.rateScale,
    jitterMs: (o.jitter as number | undefined) ?? D.jitterMs,
    maxInput: o.maxInput as number | undefined,
    maxOutput: o.maxOutput as number | undefined,
    maxDurationS: o.maxDuration as number | undefined,
    seed: (o.seed as number | undefined) ?? D.seed,
  };
}
