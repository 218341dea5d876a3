import { usageError } from '../core/errors.js';

/** The `--columns` map of a generic CSV/JSONL trace. */
export interface ColumnMap {
  time: string;
  input: string;
  output: string;
  id?: string;
  /** Units of the time column per second (1, 1e3, 1e6): dividing keeps whole-unit gaps exact. */
  unitsPerS: number;
  timeUnit: 's' | 'ms' | 'us';
}

const UNITS = { s: 1, ms: 1e3, us: 1e6 } as const;

/** Parses `time=COL,input=COL,output=COL[,id=COL][,time-unit=s|ms|us]` (time unit defaults to s). */
export function parseColumnMap(spec: string | undefined): ColumnMap {
  const example = "e.g. --columns 'time=arrival_ms,input=prompt_len,output=gen_len,time-unit=ms'";
  if (spec === undefined || spec.trim() === '') throw usageError('--columns', `generic csv/jsonl traces need a column map (${example})`);
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (eq <= 0 || value === '') throw usageError('--columns', `expected KEY=VALUE, got '${part}' (${example})`);
    if (!['time', 'input', 'output', 'id', 'time-unit'].includes(key)) throw usageError('--columns', `unknown key '${key}' (keys: time, input, output, id, time-unit)`);
    if (fields.has(key)) throw usageError('--columns', `'${key}' given twice`);
    fields.set(key, value);
  }
  for (const key of ['time', 'input', 'output']) {
    if (!fields.has(key)) throw usageError('--columns', `missing '${key}=COLUMN' (${example})`);
  }
  const unit = fields.get('time-unit') ?? 's';
  if (!(unit in UNITS)) throw usageError('--columns', `time-unit must be s, ms or us, got '${unit}'`);
  return {
    time: fields.get('time')!,
    input: fields.get('input')!,
    output: fields.get('output')!,
    id: fields.get('id'),
    timeUnit: unit as ColumnMap['timeUnit'],
    unitsPerS: UNITS[unit as keyof typeof UNITS],
  };
}
