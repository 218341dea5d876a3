import { hasContinuousUsage, isSuccess, outputTokens, type RequestRecord } from './request-record.js';

export type TbtSource = 'usage' | 'chunk' | 'mixed';

/**
 * Token-normalised time between tokens for one request, ms. With per-message usage, a message
 * of m tokens after a gap g (from the previous token-bearing message) contributes m gaps of g/m;
 * the tokens of the first message belong to the first response (TTFT) and give no gap, and
 * messages with 0 new tokens are skipped. Without per-message usage, the gaps are the chunk
 * gaps (vLLM's ITL). Also used for failed requests: the gaps they did show are real.
 */
export function tbtGaps(rec: RequestRecord): { gapsMs: number[]; source: 'usage' | 'chunk' } {
  const c = rec.chunkMs;
  const gapsMs: number[] = [];
  if (!hasContinuousUsage(rec)) {
    for (let k = 1; k < c.length; k++) gapsMs.push(c[k] - c[k - 1]);
    return { gapsMs, source: 'chunk' };
  }
  const m = rec.chunkTokens;
  let prev = Number.NaN;
  for (let k = 0; k < c.length; k++) {
    if (m[k] <= 0) continue;
    if (Number.isNaN(prev)) {
      prev = c[k];
      continue;
    }
    const g = (c[k] - prev) / m[k];
    for (let j = 0; j < m[k]; j++) gapsMs.push(g);
    prev = c[k];
  }
  return { gapsMs, source: 'usage' };
}

export interface TbtSummaryInput {
  /** TBT samples pooled over successful requests. */
  samplesMs: number[];
  source: TbtSource;
  /** Output tokens per token-bearing message over successful requests (1 = one token per message); 0 when none. */
  chunkTokenRatio: number;
}

export function pooledTbt(records: readonly RequestRecord[]): TbtSummaryInput {
  const samplesMs: number[] = [];
  let usage = 0;
  let chunk = 0;
  let tokens = 0;
  let messages = 0;
  for (const r of records) {
    if (!isSuccess(r)) continue;
    const { gapsMs, source } = tbtGaps(r);
    for (const g of gapsMs) samplesMs.push(g);
    if (source === 'usage') usage++;
    else chunk++;
    tokens += outputTokens(r);
    messages += r.chunkMs.length;
  }
  const source: TbtSource = usage > 0 && chunk > 0 ? 'mixed' : usage > 0 ? 'usage' : 'chunk';
  return { samplesMs, source, chunkTokenRatio: messages === 0 ? 0 : tokens / messages };
}
