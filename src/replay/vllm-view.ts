import { outputTokens, type ErrorCause, type RequestRecord } from './request-record.js';

/**
 * A request as vLLM's `bench serve` client would have scored it (vllm/benchmarks/lib/
 * endpoint_request_func.py): the numbers behind every key of the result named as vLLM names it.
 * orbitflow's own, stricter verdict (`isSuccess`, content-based chat TTFT) stays in
 * request-record.ts and feeds only keys of orbitflow's own names.
 *
 * vLLM's request succeeds when the answer is HTTP 200, the stream was read to its end without an
 * exception, and at least one message had non-empty `choices`. So a stream that carried an
 * `{"error": …}` event, ended without `[DONE]`, came up short of max_tokens or had usage that
 * contradicts it is a success to vLLM; a reset, a non-JSON data line, a timeout is not.
 */
const FAILS_IN_VLLM: ReadonlySet<ErrorCause> = new Set<ErrorCause>(['http_4xx', 'http_5xx', 'http_other', 'connect', 'reset', 'bad_sse', 'timeout', 'deadline', 'interrupted', 'client']);

/** The messages vLLM times: every message with choices (chat: including the role-only opening delta). */
export function vllmMessageMs(r: RequestRecord): readonly number[] {
  return r.choiceMs ?? r.chunkMs;
}

export function vllmSuccess(r: RequestRecord): boolean {
  if (r.status === 'ok') return true;
  if (r.status !== 'failed' || r.httpStatus !== 200) return false;
  if (r.errorCause === null || FAILS_IN_VLLM.has(r.errorCause)) return false;
  return vllmMessageMs(r).length > 0;
}

export function vllmTtftMs(r: RequestRecord): number {
  const m = vllmMessageMs(r);
  return m.length > 0 ? m[0] : Number.NaN;
}

/** Completions: the last message with choices. Chat: vLLM moves its clock on every data message, usage-only ones too. */
export function vllmE2elMs(r: RequestRecord): number {
  const m = vllmMessageMs(r);
  const last = m.length > 0 ? m[m.length - 1] : Number.NaN;
  return r.choiceMs !== null && Number.isFinite(r.lastDataMs) ? Math.max(last, r.lastDataMs) : last;
}

/** vLLM TPOT: (E2EL − TTFT)/(n − 1) when n > 1; 0 otherwise (the value vLLM uses for goodput). */
export function vllmTpotMs(r: RequestRecord): number {
  const n = outputTokens(r);
  if (n <= 1 || vllmMessageMs(r).length === 0) return 0;
  return (vllmE2elMs(r) - vllmTtftMs(r)) / (n - 1);
}

/** vLLM's `errors` entry: '' for a success, else a one-line reason. */
export function vllmErrorText(r: RequestRecord): string {
  if (vllmSuccess(r)) return '';
  if (r.status === 'pending') return 'not issued';
  return r.errorDetail ?? r.errorCause ?? 'failed';
}
