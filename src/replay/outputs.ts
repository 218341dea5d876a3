import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, OrbitflowError } from '../core/errors.js';
import { e2elMs, hasContinuousUsage, outputTokens, tpotMs, ttftMs, type RequestRecord } from './request-record.js';
import type { RunResult } from './run-result.js';

function ms(x: number): number | null {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null;
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
    prompt_tokens: r.promptTokens,
    chunk_ms: r.chunkMs.map((c) => Math.round(c * 1000) / 1000),
    chunk_tokens: continuous ? r.chunkTokens : null,
  };
}

/** `--out DIR`: result.json, requests.jsonl, summary.md. */
export async function writeRunOutputs(dir: string, result: RunResult, records: readonly RequestRecord[], summaryMarkdown: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
    const fh = await open(join(dir, 'requests.jsonl'), 'w');
    try {
      let batch = '';
      for (const r of records) {
        batch += `${JSON.stringify(requestLine(r))}\n`;
        if (batch.length > 1 << 20) {
          await fh.write(batch);
          batch = '';
        }
      }
      if (batch) await fh.write(batch);
    } finally {
      await fh.close();
    }
    await writeFile(join(dir, 'summary.md'), summaryMarkdown);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new OrbitflowError('OF_REPLAY_OUT', `--out ${dir}: cannot write results: ${err.code ?? err.message}`, {
      exitCode: ExitCode.badInput,
      context: { file: dir, option: '--out' },
      cause: e,
    });
  }
}
