import { createReadStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { inputError, OrbitflowError } from '../../core/errors.js';
import { openInputFile, readInputFile } from '../../core/input-file.js';
import { parseJsonText } from '../../core/json-text.js';

/**
 * A replay's `--out DIR` as the fit and the validation read it: `result.json` (orbitflow.run/v1:
 * metadata, duration, telemetry) and `requests.jsonl` (one line per request with every chunk's
 * time). Only the fields used are checked and kept; docs/formats.md describes both files.
 */
export interface RunLine {
  index: number;
  id: string;
  arrival_s: number;
  input_tokens: number;
  expected_output_tokens: number;
  /** `ok`, `failed` or `not_issued`. */
  status: string;
  /** ms from the run's start; null when never sent. */
  sent_ms: number | null;
  prompt_tokens: number;
  output_tokens: number;
  /** Each token message's arrival, ms after `sent_ms`. */
  chunk_ms: number[];
  /** Tokens in each message, when the server sent per-message usage. */
  chunk_tokens: number[] | null;
}

export interface RunSummary {
  duration: number;
  completed: number;
  failed: number;
  metadata: {
    command?: string[];
    endpoint?: string | null;
    model_name?: string;
    start_time?: string;
    trace?: { file: string; sha256: string; format: string; requests: number } | null;
    seeds?: { trace: number; prompt: number };
    [k: string]: unknown;
  };
  telemetry?: unknown;
  [k: string]: unknown;
}

export interface RunDir {
  dir: string;
  result: RunSummary;
  lines: RunLine[];
  /** Lines carrying chunk times at all (an old or foreign requests.jsonl has none). */
  withChunkTimes: number;
}

const RESULT_CAP = 256 * 1024 * 1024;

function fail(message: string, file: string): never {
  throw new OrbitflowError('OF_RUN_DIR', message, { context: { file } });
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function checkLine(raw: unknown, file: string, line: number): { rec: RunLine; hasChunks: boolean } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw inputError('OF_RUN_DIR_LINE', file, line, '(line)', 'expected a JSON object');
  const o = raw as Record<string, unknown>;
  const need = (k: string, ok: boolean, what: string): void => {
    if (!ok) throw inputError('OF_RUN_DIR_LINE', file, line, k, o[k] === undefined ? 'missing' : what);
  };
  need('index', Number.isInteger(o.index), 'expected an integer');
  need('status', typeof o.status === 'string', 'expected a string');
  need('arrival_s', isNum(o.arrival_s), 'expected a number');
  need('input_tokens', isNum(o.input_tokens), 'expected a number');
  need('sent_ms', o.sent_ms === null || o.sent_ms === undefined || isNum(o.sent_ms), 'expected a number or null');
  const hasChunks = Array.isArray(o.chunk_ms);
  if (hasChunks) need('chunk_ms', (o.chunk_ms as unknown[]).every(isNum), 'expected an array of numbers');
  const ct = o.chunk_tokens;
  if (ct !== null && ct !== undefined) need('chunk_tokens', Array.isArray(ct) && ct.every(isNum) && ct.length === (o.chunk_ms as unknown[] | undefined)?.length, 'expected one token count per chunk');
  const chunks = hasChunks ? (o.chunk_ms as number[]) : [];
  return {
    hasChunks,
    rec: {
      index: o.index as number,
      id: typeof o.id === 'string' ? o.id : `r${String(o.index)}`,
      arrival_s: o.arrival_s as number,
      input_tokens: o.input_tokens as number,
      expected_output_tokens: isNum(o.expected_output_tokens) ? o.expected_output_tokens : 0,
      status: o.status as string,
      sent_ms: isNum(o.sent_ms) ? o.sent_ms : null,
      prompt_tokens: isNum(o.prompt_tokens) ? o.prompt_tokens : (o.input_tokens as number),
      output_tokens: isNum(o.output_tokens) ? o.output_tokens : chunks.length,
      chunk_ms: chunks,
      chunk_tokens: Array.isArray(ct) ? (ct as number[]) : null,
    },
  };
}

/** Read and check `DIR` (a replay's --out). Any problem is one line naming the file (exit 2). */
export async function readRunDir(dir: string): Promise<RunDir> {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    fail(`${dir}: no such directory (expected a replay's --out DIR)`, dir);
  }
  if (!isDir) fail(`${dir}: not a directory (expected a replay's --out DIR)`, dir);
  const resultFile = join(dir, 'result.json');
  const requestsFile = join(dir, 'requests.jsonl');
  const text = readInputFile(resultFile, { what: "a replay's result", code: 'OF_RUN_DIR_RESULT', maxBytes: RESULT_CAP });
  const result = parseJsonText(text, resultFile, 'OF_RUN_DIR_JSON') as RunSummary;
  if (typeof result !== 'object' || result === null || (result as Record<string, unknown>).schema !== 'orbitflow.run/v1') {
    fail(`${resultFile}: schema: expected 'orbitflow.run/v1' (a replay's --out result)`, resultFile);
  }
  if (!isNum(result.duration) || typeof result.metadata !== 'object' || result.metadata === null) fail(`${resultFile}: duration, metadata: missing`, resultFile);

  const { fd } = openInputFile(requestsFile, { what: "a replay's requests", code: 'OF_RUN_DIR_REQUESTS', maxBytes: Infinity });
  const lines: RunLine[] = [];
  let withChunkTimes = 0;
  const rl = createInterface({ input: createReadStream('', { fd, encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const l of rl) {
    n++;
    if (l.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(l);
    } catch (e) {
      throw inputError('OF_RUN_DIR_LINE', requestsFile, n, '(line)', `not JSON (${(e as Error).message})`);
    }
    const { rec, hasChunks } = checkLine(raw, requestsFile, n);
    if (hasChunks) withChunkTimes++;
    lines.push(rec);
  }
  if (lines.length === 0) fail(`${requestsFile}: no requests`, requestsFile);
  return { dir, result, lines, withChunkTimes };
}
