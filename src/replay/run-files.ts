import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OrbitflowError, type ErrorCode } from '../core/errors.js';
import type { ErrorCause, RequestRecord, RequestStatus } from './request-record.js';
import { RUN_SCHEMA, type RunResult } from './run-result.js';

/** A replay read back from disk: its result and, from an `--out` directory, its per-request records. */
export interface LoadedRun {
  /** What was named on the command line. */
  source: string;
  result: RunResult;
  /** null for a bare result file. */
  records: RequestRecord[] | null;
}

function bad(code: ErrorCode, message: string, file: string): OrbitflowError {
  return new OrbitflowError(code, message, { context: { file } });
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw bad('OF_RUN_DIR_RESULT', `${file}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, file);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw bad('OF_RUN_DIR_JSON', `${file}: not JSON (${(e as Error).message})`, file);
  }
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);

/** A requests.jsonl line (outputs.ts requestLine) back as the record it was written from. */
export function recordFromRequestLine(l: Record<string, unknown>): RequestRecord {
  const chunkMs = (l.chunk_ms as number[] | undefined) ?? [];
  const counted = l.output_tokens_counted_by;
  const n = typeof l.output_tokens === 'number' ? l.output_tokens : 0;
  const status = l.status === 'not_issued' ? 'pending' : (l.status as RequestStatus);
  return {
    index: l.index as number,
    id: String(l.id),
    arrivalS: l.arrival_s as number,
    inputTokens: l.input_tokens as number,
    expectedOutputTokens: l.expected_output_tokens as number,
    slo: (l.slo as RequestRecord['slo'] | null) ?? undefined,
    dueMs: num(l.due_ms),
    releasedMs: num(l.released_ms),
    sentMs: num(l.sent_ms),
    doneMs: num(l.done_ms),
    status,
    httpStatus: typeof l.http_status === 'number' ? l.http_status : 0,
    errorCause: (l.error_cause as ErrorCause | null) ?? null,
    errorDetail: (l.error_detail as string | null) ?? null,
    chunkMs,
    chunkTokens: (l.chunk_tokens as number[] | null) ?? chunkMs.map(() => -1),
    // Lines written before output_tokens_counted_by existed carry the final count.
    usageOutputTokens: counted === 'usage' || (counted === undefined && n > 0) ? n : null,
    runningOutputTokens: counted === 'continuous_usage' ? n : 0,
    promptTokens: l.prompt_tokens as number,
    choiceMs: (l.choice_ms as number[] | null) ?? null,
    lastDataMs: num(l.last_data_ms),
  };
}

function readRecords(file: string): RequestRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw bad('OF_RUN_DIR_REQUESTS', `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, file);
  }
  const out: RequestRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    let l: unknown;
    try {
      l = JSON.parse(lines[i]);
    } catch {
      throw bad('OF_RUN_DIR_LINE', `${file}:${i + 1}: not a JSON line`, file);
    }
    if (typeof l !== 'object' || l === null || typeof (l as { index?: unknown }).index !== 'number' || !Array.isArray((l as { chunk_ms?: unknown }).chunk_ms)) {
      throw bad('OF_RUN_DIR_LINE', `${file}:${i + 1}: not a replay request line (index, chunk_ms)`, file);
    }
    out.push(recordFromRequestLine(l as Record<string, unknown>));
  }
  return out;
}

/**
 * `DIR` (a `replay --out` directory: result.json and requests.jsonl) or `FILE` (a result.json,
 * orbitflow's or one vLLM's --save-result wrote when `allowVllm`). Anything else: exit 2, one line.
 */
export function loadRun(source: string, opts: { needRecords: boolean; allowVllm: boolean }): LoadedRun {
  if (!existsSync(source)) throw bad('OF_RUN_FILE', `${source}: no such file or directory`, source);
  const isDir = statSync(source).isDirectory();
  const resultFile = isDir ? join(source, 'result.json') : source;
  if (isDir && !existsSync(resultFile)) throw bad('OF_RUN_DIR', `${source}: not a replay --out directory (no result.json)`, source);
  const result = readJson(resultFile, 'the run result') as RunResult;
  const isOrbitflow = typeof result === 'object' && result !== null && result.schema === RUN_SCHEMA;
  const isVllm = typeof result === 'object' && result !== null && typeof (result as Record<string, unknown>).completed === 'number' && typeof (result as Record<string, unknown>).duration === 'number';
  if (!isOrbitflow && !(opts.allowVllm && isVllm)) {
    throw bad('OF_RUN_FILE', `${resultFile}: not a replay result (schema is not ${RUN_SCHEMA}${opts.allowVllm ? ', nor a vLLM --save-result file' : ''})`, resultFile);
  }
  if (!isDir) {
    if (opts.needRecords) throw bad('OF_RUN_FILE', `${source}: a result file has no per-request records: give the replay --out directory`, source);
    return { source, result, records: null };
  }
  const requestsFile = join(source, 'requests.jsonl');
  if (!existsSync(requestsFile)) {
    if (opts.needRecords) throw bad('OF_RUN_DIR', `${source}: not a replay --out directory (no requests.jsonl)`, source);
    return { source, result, records: null };
  }
  return { source, result, records: readRecords(requestsFile) };
}
