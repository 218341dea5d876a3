import { MAX_REQUEST_TOKENS } from '../core/units.js';
import { outputTokens, type ErrorCause, type RequestRecord } from './request-record.js';

/**
 * What a stream must satisfy to count as a success, beyond HTTP 200 and a token: the server's
 * usage numbers agree with the stream and with what was asked, and the stream ends with its
 * terminator and every token asked for (every request is sent with max_tokens and ignore_eos).
 * Usage that contradicts the stream would otherwise become TPOT, TBT and totals (a TBT of
 * 0.007 ms from an inflated count, negative totals), so such a request fails as `bad_usage`.
 */

export interface StreamProblem {
  cause: ErrorCause;
  detail: string;
}

function badCount(v: unknown, max: number): string | null {
  if (typeof v !== 'number' || !Number.isFinite(v)) return `${typeof v === 'number' ? String(v) : JSON.stringify(v)} is not a finite number`;
  if (!Number.isInteger(v) || v < 0) return `${v} is not a whole number of tokens`;
  if (v > max) return `${v} is more than the ${max} tokens asked for`;
  return null;
}

/** A usage object on one message, against the request and what earlier messages said. */
export function usageProblem(usage: unknown, rec: RequestRecord, onTokenMessage: boolean): string | null {
  if (typeof usage !== 'object' || usage === null || Array.isArray(usage)) return `usage is ${JSON.stringify(usage)}, not an object`;
  const u = usage as { completion_tokens?: unknown; prompt_tokens?: unknown };
  if (u.completion_tokens !== undefined && u.completion_tokens !== null) {
    const bad = badCount(u.completion_tokens, rec.expectedOutputTokens);
    if (bad !== null) return `usage.completion_tokens ${bad}`;
    const ct = u.completion_tokens as number;
    if (onTokenMessage && ct < rec.runningOutputTokens) return `usage.completion_tokens went down from ${rec.runningOutputTokens} to ${ct}`;
  }
  if (u.prompt_tokens !== undefined && u.prompt_tokens !== null) {
    const bad = badCount(u.prompt_tokens, MAX_REQUEST_TOKENS);
    if (bad !== null) return `usage.prompt_tokens ${bad}`;
  }
  return null;
}

/** At the end of a stream that carried tokens: did it end properly, with what was asked? */
export function streamEndProblem(rec: RequestRecord, sawDone: boolean, finishReason: string | null): StreamProblem | null {
  const messages = rec.chunkMs.length;
  const final = rec.usageOutputTokens;
  if (final !== null && final < rec.runningOutputTokens) {
    return { cause: 'bad_usage', detail: `final usage.completion_tokens ${final} is below the ${rec.runningOutputTokens} counted on the way` };
  }
  const counted = final !== null || rec.runningOutputTokens > 0;
  const n = outputTokens(rec);
  if (counted && n < messages) return { cause: 'bad_usage', detail: `usage.completion_tokens ${n} is below the ${messages} token messages received` };
  const asked = rec.expectedOutputTokens;
  const why = finishReason !== null ? `, finish_reason '${finishReason}'` : '';
  if (!sawDone) return { cause: 'truncated', detail: `the stream ended without [DONE] after ${n} of ${asked} tokens${why}` };
  // Without usage the count is of messages, and a message may carry several tokens: only usage can say a stream came up short.
  if (counted && n < asked) return { cause: 'truncated', detail: `${n} of ${asked} tokens with ignore_eos${why}` };
  return null;
}
