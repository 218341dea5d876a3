import type { TraceRequest } from '../core/trace-request.js';

/**
 * Why a request failed. Stable strings: they are keys of `error_summary.by_cause` in the run result.
 *  http_4xx / http_5xx / http_other  non-200 answer (status and a body excerpt are kept)
 *  connect       the connection could not be opened (refused, DNS, …)
 *  reset         the connection closed or reset before the response ended
 *  bad_sse       a `data:` line that is not JSON (or not an object)
 *  server_error  the stream carried an `{"error": …}` event
 *  timeout       the request ran past --request-timeout-s (a stalled server, a body that never ends)
 *  deadline      the run's global deadline aborted it
 *  no_tokens     HTTP 200 and a clean end, but no token chunk ever arrived
 *  truncated     the stream ended without its `[DONE]`, or the server's usage counts fewer tokens
 *                than max_tokens (every request is sent with ignore_eos)
 *  bad_usage     the server's usage numbers contradict the stream or the request (not a finite
 *                whole count, more tokens than asked, a count that goes down, fewer tokens than
 *                token messages)
 *  interrupted   Ctrl-C / SIGTERM aborted it (or it was still queued)
 *  client        the request could not be built or sent (a bug or a local resource limit)
 */
export type ErrorCause =
  | 'http_4xx'
  | 'http_5xx'
  | 'http_other'
  | 'connect'
  | 'reset'
  | 'bad_sse'
  | 'server_error'
  | 'timeout'
  | 'deadline'
  | 'no_tokens'
  | 'truncated'
  | 'bad_usage'
  | 'interrupted'
  | 'client';

export const ERROR_CAUSES: readonly ErrorCause[] = [
  'http_4xx',
  'http_5xx',
  'http_other',
  'connect',
  'reset',
  'bad_sse',
  'server_error',
  'timeout',
  'deadline',
  'no_tokens',
  'truncated',
  'bad_usage',
  'interrupted',
  'client',
];

export type RequestStatus = 'pending' | 'queued' | 'in_flight' | 'ok' | 'failed';

/**
 * Everything measured about one request. Times are ms on the run's monotonic clock relative to
 * the run start t0 (`dueMs`, `releasedMs`, `sentMs`, `doneMs`) or relative to the send
 * (`chunkMs`). NaN marks "did not happen".
 *
 *   due ──lag──► released ──queue──► sent ──ttft──► chunk 0 … chunk k (= e2el)
 */
export interface RequestRecord {
  index: number;
  id: string;
  arrivalS: number;
  inputTokens: number;
  expectedOutputTokens: number;
  slo?: TraceRequest['slo'];
  /** The trace's request class (e.g. the artifact's category), when it has one. */
  class?: string;
  dueMs: number;
  /** When the pacer handed it to the client (sent at once, or queued behind --max-concurrency). */
  releasedMs: number;
  /** Immediately before the HTTP request was issued (vLLM's t0 of a request). */
  sentMs: number;
  doneMs: number;
  status: RequestStatus;
  httpStatus: number;
  errorCause: ErrorCause | null;
  errorDetail: string | null;
  /** Arrival of each token-bearing SSE message, ms after `sentMs`. */
  chunkMs: number[];
  /** Tokens in each token-bearing message from continuous usage deltas; -1 where the message had no usage. */
  chunkTokens: number[];
  /** `usage.completion_tokens` of the final usage message, when the server sent one. */
  usageOutputTokens: number | null;
  /** Last `usage.completion_tokens` seen on a message with choices (continuous usage). */
  runningOutputTokens: number;
  /** From `usage.prompt_tokens` when returned, else the trace's input tokens. */
  promptTokens: number;
  /**
   * Chat only (null on completions, where every message with choices is already in `chunkMs`):
   * arrival of every message with non-empty choices, content or not, ms after `sentMs`. These are
   * the messages vLLM times TTFT and ITL by (its TTFT starts at the role-only opening delta).
   */
  choiceMs: number[] | null;
  /** Chat only: arrival of the last JSON data message of any kind, ms after `sentMs` (the end of vLLM's chat E2EL); NaN otherwise. */
  lastDataMs: number;
}

export function createRecord(req: TraceRequest, dueMs: number): RequestRecord {
  return {
    index: req.index,
    id: req.id,
    arrivalS: req.arrivalS,
    inputTokens: req.inputTokens,
    expectedOutputTokens: req.outputTokens,
    slo: req.slo,
    class: req.class,
    dueMs,
    releasedMs: Number.NaN,
    sentMs: Number.NaN,
    doneMs: Number.NaN,
    status: 'pending',
    httpStatus: 0,
    errorCause: null,
    errorDetail: null,
    chunkMs: [],
    chunkTokens: [],
    usageOutputTokens: null,
    runningOutputTokens: 0,
    promptTokens: req.inputTokens,
    choiceMs: null,
    lastDataMs: Number.NaN,
  };
}

/** True when every token message carried a usage delta, so tokens per message are known. */
export function hasContinuousUsage(rec: RequestRecord): boolean {
  if (rec.chunkTokens.length === 0 || rec.chunkTokens.length !== rec.chunkMs.length) return false;
  for (const m of rec.chunkTokens) if (m < 0) return false;
  return true;
}

/**
 * Output tokens n: the final `usage.completion_tokens` (vLLM's rule), else the last continuous
 * usage count, else the number of token messages (orbitflow has no tokenizer; vLLM would
 * re-tokenise the text, or fall back to 1).
 */
export function outputTokens(rec: RequestRecord): number {
  if (rec.usageOutputTokens !== null) return rec.usageOutputTokens;
  if (rec.runningOutputTokens > 0) return rec.runningOutputTokens;
  return rec.chunkMs.length;
}

/** How `outputTokens` counted: the final usage, the last continuous usage, or (no usage from the server: a fallback) token messages. */
export const OUTPUT_TOKEN_COUNTS = ['usage', 'continuous_usage', 'token_messages'] as const;
export type OutputTokensCount = (typeof OUTPUT_TOKEN_COUNTS)[number];

export function outputTokensCountedBy(rec: RequestRecord): OutputTokensCount {
  if (rec.usageOutputTokens !== null) return 'usage';
  if (rec.runningOutputTokens > 0) return 'continuous_usage';
  return 'token_messages';
}

export function isSuccess(rec: RequestRecord): boolean {
  return rec.status === 'ok';
}

export function ttftMs(rec: RequestRecord): number {
  return rec.chunkMs.length > 0 ? rec.chunkMs[0] : Number.NaN;
}

export function e2elMs(rec: RequestRecord): number {
  return rec.chunkMs.length > 0 ? rec.chunkMs[rec.chunkMs.length - 1] : Number.NaN;
}

/** vLLM TPOT: (E2EL − TTFT)/(n − 1) when n > 1; 0 otherwise (the value vLLM uses for goodput). */
export function tpotMs(rec: RequestRecord): number {
  const n = outputTokens(rec);
  if (n <= 1 || rec.chunkMs.length === 0) return 0;
  return (e2elMs(rec) - ttftMs(rec)) / (n - 1);
}
