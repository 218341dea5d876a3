import { outputTokens, type RequestRecord } from './request-record.js';
import type { RunMetadata } from './run-result.js';
import { vllmE2elMs, vllmErrorText, vllmMessageMs, vllmSuccess, vllmTtftMs } from './vllm-view.js';

/**
 * The run keys vLLM's `bench serve --save-result` always writes (vllm/benchmarks/serve.py, main),
 * with vLLM's meanings, so a consumer of vLLM result files reads orbitflow's unchanged.
 */
export interface VllmRunKeys {
  /** vLLM's `%Y%m%d-%H%M%S` of the start (here in UTC). */
  date: string;
  /** vLLM's backend names: `openai` for /v1/completions, `openai-chat` for /v1/chat/completions. */
  endpoint_type: string;
  backend: string;
  /** vLLM's default label is the endpoint type. */
  label: string;
  model_id: string;
  /** orbitflow uses no tokenizer; vLLM's default tokenizer id is the model id. */
  tokenizer_id: string;
  num_prompts: number;
  /** Requests per second the trace offers (requests / span of arrivals); 'inf' when all arrive at once (vLLM writes the string). */
  request_rate: number | 'inf';
  /** vLLM's gamma shape of the inter-arrival gaps, estimated from the trace as 1/CV²; 'inf' for constant gaps. */
  burstiness: number | 'inf';
  max_concurrency: number | null;
}

export function vllmEndpointType(api: string): string {
  return api === 'chat' ? 'openai-chat' : 'openai';
}

function vllmDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const two = (x: number): string => String(x).padStart(2, '0');
  return `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}-${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}`;
}

/** Offered rate and burstiness of the arrivals, in vLLM's terms. */
export function arrivalShape(arrivalsS: readonly number[]): { rate: number | 'inf'; burstiness: number | 'inf' } {
  const a = [...arrivalsS].sort((x, y) => x - y);
  const span = a.length === 0 ? 0 : a[a.length - 1] - a[0];
  if (a.length < 2 || span <= 0) return { rate: 'inf', burstiness: 'inf' };
  const gaps: number[] = [];
  for (let i = 1; i < a.length; i++) gaps.push(a[i] - a[i - 1]);
  const mean = span / gaps.length;
  let ss = 0;
  for (const g of gaps) ss += (g - mean) * (g - mean);
  const cv2 = ss / gaps.length / (mean * mean);
  // The rate that puts the last of N arrivals at N/rate (vLLM's rescaling rule) is N/span.
  return { rate: a.length / span, burstiness: cv2 > 0 ? 1 / cv2 : 'inf' };
}

export function vllmRunKeys(all: readonly RequestRecord[], metadata: RunMetadata): VllmRunKeys {
  const type = vllmEndpointType(metadata.api);
  const shape = arrivalShape(all.map((r) => r.arrivalS));
  return {
    date: vllmDate(metadata.start_time),
    endpoint_type: type,
    backend: type,
    label: type,
    model_id: metadata.model_name,
    tokenizer_id: metadata.model_name,
    num_prompts: all.length,
    request_rate: shape.rate,
    burstiness: shape.burstiness,
    max_concurrency: metadata.max_concurrency ?? null,
  };
}

/** vLLM's --save-detailed lists, one entry per issued request in request order; times in seconds, as vLLM writes them. */
export interface VllmDetailedLists {
  input_lens: number[];
  output_lens: number[];
  ttfts: number[];
  itls: number[][];
  start_times: number[];
  latencies: number[];
  errors: string[];
}

export function vllmDetailedLists(issued: readonly RequestRecord[]): VllmDetailedLists {
  const s = (ms: number): number => (Number.isFinite(ms) ? ms / 1000 : 0);
  const out: VllmDetailedLists = { input_lens: [], output_lens: [], ttfts: [], itls: [], start_times: [], latencies: [], errors: [] };
  for (const r of issued) {
    const ok = vllmSuccess(r);
    const m = vllmMessageMs(r);
    const itl: number[] = [];
    for (let k = 1; k < m.length; k++) itl.push((m[k] - m[k - 1]) / 1000);
    out.input_lens.push(r.inputTokens);
    out.output_lens.push(ok ? outputTokens(r) : 0);
    out.ttfts.push(s(vllmTtftMs(r)));
    out.itls.push(itl);
    // vLLM's start_time is a perf_counter() reading; here, seconds on the run's clock (0 = run start).
    out.start_times.push(s(r.sentMs));
    out.latencies.push(ok ? s(vllmE2elMs(r)) : 0);
    out.errors.push(vllmErrorText(r));
  }
  return out;
}
