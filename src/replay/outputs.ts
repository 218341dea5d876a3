import { join } from 'node:path';
import { OrbitflowError } from '../core/errors.js';
import { writeFileAtomic } from '../core/output-files.js';
import { redact } from '../core/redact.js';
import { e2elMs, hasContinuousUsage, outputTokens, outputTokensCountedBy, tpotMs, ttftMs, type RequestRecord } from './request-record.js';
import { vllmSuccess } from './vllm-view.js';
import type { RunResult } from './run-result.js';

function ms(x: number): number | null {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null;
}

function us(c: number): number {
  return Math.round(c * 1000) / 1000;
}

/** One line of requests.jsonl. Times in ms: due/released/sent/done from the run start, chunks from the send. */
export function requestLine(r: RequestRecord): Record<string, unknown> {
  const sent = !Number.isNaN(r.sentMs);
  const continuous = hasContinuousUsage(r);
  return {
    id: r.id,
    index: r.index,
    arrival_s: r.arrivalS,
    input_tokens: r.inputTokens,
    expected_output_tokens: r.expectedOutputTokens,
    status: r.status === 'pending' ? 'not_issued' : r.status,
    error_cause: r.errorCause,
    error_detail: r.errorDetail,
    http_status: r.httpStatus === 0 ? null : r.httpStatus,
    due_ms: ms(r.dueMs),
    released_ms: ms(r.releasedMs),
    sent_ms: ms(r.sentMs),
    done_ms: ms(r.doneMs),
    schedule_lag_ms: ms(r.releasedMs - r.dueMs),
    queue_time_ms: ms(r.sentMs - r.releasedMs),
    ttft_ms: ms(ttftMs(r)),
    tpot_ms: r.status === 'ok' && outputTokens(r) > 1 ? ms(tpotMs(r)) : null,
    e2el_ms: ms(e2elMs(r)),
    output_tokens: sent ? outputTokens(r) : 0,
    output_tokens_counted_by: sent ? outputTokensCountedBy(r) : null,
    prompt_tokens: r.promptTokens,
    vllm_success: vllmSuccess(r),
    chunk_ms: r.chunkMs.map(us),
    chunk_tokens: continuous ? r.chunkTokens : null,
    choice_ms: r.choiceMs === null ? null : r.choiceMs.map(us),
    last_data_ms: ms(r.lastDataMs),
    slo: r.slo ?? null,
  };
}

function* requestLines(records: readonly RequestRecord[]): Generator<string> {
  for (const r of records) yield redact(`${JSON.stringify(requestLine(r))}\n`);
}

/** The files of `--out DIR`, in the order they are written: result.json last, so its presence means the set is whole. */
export const RUN_OUTPUT_FILES = ['requests.jsonl', 'summary.md', 'result.json'] as const;

/**
 * `--out DIR` (made by prepareOutputDir before the run): requests.jsonl, summary.md, result.json,
 * each written atomically, so an interrupted write leaves whole files or none, never half of one,
 * and redacted (no secret the server echoed, in an error or a model name, is stored).
 */
export async function writeRunOutputs(dir: string, result: RunResult, records: readonly RequestRecord[], summaryMarkdown: string): Promise<void> {
  try {
    await writeFileAtomic(join(dir, 'requests.jsonl'), requestLines(records));
    await writeFileAtomic(join(dir, 'summary.md'), redact(summaryMarkdown));
    await writeFileAtomic(join(dir, 'result.json'), redact(`${JSON.stringify(result, null, 2)}\n`));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new OrbitflowError('OF_REPLAY_OUT', `--out ${dir}: cannot write results: ${err.code ?? err.message}`, {
      context: { file: dir, option: '--out' },
      cause: e,
    });
  }
}
