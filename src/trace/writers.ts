import { formatAzure2023Timestamp } from './timestamp.js';
import type { TraceRequest } from './types.js';

/**
 * Azure LLM inference 2023 CSV, byte-compatible with the published files: header
 * `TIMESTAMP,ContextTokens,GeneratedTokens`, CRLF line ends, no newline after the last row,
 * timestamps `YYYY-MM-DD HH:MM:SS.fffffff` from `originMs` (whole seconds, UTC).
 */
export function formatAzureCsv(requests: readonly TraceRequest[], originMs: number): string {
  const lines = ['TIMESTAMP,ContextTokens,GeneratedTokens'];
  for (const r of requests) lines.push(`${formatAzure2023Timestamp(originMs, r.arrivalS)},${r.inputTokens},${r.outputTokens}`);
  return lines.join('\r\n');
}

/**
 * Mooncake FAST'25 JSONL: integer-ms `timestamp`, `input_length`, `output_length`, `hash_ids`,
 * written with Python's default `json.dumps` spacing as the published file is; LF, final newline.
 */
export function formatMooncakeJsonl(requests: readonly TraceRequest[]): string {
  let out = '';
  for (const r of requests) {
    const hashes = (r.hashIds ?? []).join(', ');
    out += `{"timestamp": ${Math.round(r.arrivalS * 1000)}, "input_length": ${r.inputTokens}, "output_length": ${r.outputTokens}, "hash_ids": [${hashes}]}\n`;
  }
  return out;
}

export interface OrbitflowHeader {
  batchSize: number;
  maxModelLen: number;
  /** GPU KV budget as a share of `peak_batch_blocks` (the artifact's traces use 0.23). */
  budgetShare: number;
  arrivalPattern: string;
  /** Milliseconds per decode step used to turn arrival seconds into `arrival_time` steps. */
  stepMs: number;
}

/**
 * The OrbitFlow artifact trace JSON (orbitflow-method.md §14.1), indented like the artifact's.
 * `sched_time`/`wait_time` are the artifact generator's simulated admission and are not written:
 * nothing here simulates admission, and the readers do not use them.
 */
export function formatOrbitflowJson(requests: readonly TraceRequest[], h: OrbitflowHeader): string {
  const totals = requests.map((r) => r.inputTokens + r.outputTokens).sort((a, b) => b - a);
  const peak = Math.ceil(totals.slice(0, h.batchSize).reduce((a, b) => a + b, 0) / 16);
  const doc: Record<string, unknown> = {
    batch_size: h.batchSize,
    max_model_len: h.maxModelLen,
    num_gpu_blocks_override: Math.ceil(h.budgetShare * peak),
    arrival_pattern: h.arrivalPattern,
    vocab: [200, 30000],
    peak_batch_blocks: peak,
    requests: Object.fromEntries(
      requests.map((r, i) => {
        const entry: Record<string, unknown> = {};
        if (r.class !== undefined) entry.category = r.class;
        entry.input_length = r.inputTokens;
        entry.output_length = r.outputTokens;
        entry.arrival_time = Math.round((r.arrivalS * 1000) / h.stepMs);
        if (r.slo?.tpotMs !== undefined) entry.slo = r.slo.tpotMs / 1000;
        return [`request_${i}`, entry];
      }),
    ),
  };
  return `${JSON.stringify(doc, null, 4)}\n`;
}
