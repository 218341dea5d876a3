import { BLOCK_TOKENS } from './units.js';

/** Shape of a decoder-only transformer as far as KV placement and decode cost care. */
export interface ModelSpec {
  /** Catalogue key, e.g. `llama-3.1-8b`. */
  id: string;
  /** Human name, e.g. `meta-llama/Llama-3.1-8B-Instruct`. */
  name: string;
  layers: number;
  attentionHeads: number;
  kvHeads: number;
  headDim: number;
  hiddenSize: number;
  intermediateSize: number;
  vocabSize: number;
  /** Bytes per KV element (2 for fp16/bf16, 1 for fp8). */
  kvDtypeBytes: number;
  /** Bytes per weight element. */
  weightDtypeBytes: number;
  maxContextTokens: number;
  /** Where the numbers come from (catalogue entry or a config.json path). */
  source: string;
}

/** K and V for one token in one layer: 2 · kv_heads · head_dim · dtype bytes (per TP rank when tp > 1). */
export function kvBytesPerTokenLayer(m: ModelSpec, tp = 1): number {
  return (2 * (m.kvHeads / tp) * m.headDim * m.kvDtypeBytes);
}

/** One 16-token block of one layer. */
export function kvBytesPerBlock(m: ModelSpec, tp = 1): number {
  return kvBytesPerTokenLayer(m, tp) * BLOCK_TOKENS;
}

/** KV of one token across all layers. */
export function kvBytesPerToken(m: ModelSpec, tp = 1): number {
  return kvBytesPerTokenLayer(m, tp) * m.layers;
}

/** Per-layer blocks a request of `tokens` context holds in one layer. */
export function blocksPerLayer(tokens: number): number {
  return Math.ceil(tokens / BLOCK_TOKENS);
}

/** Whole-request KV (all layers), in bytes, at the block granularity. */
export function kvBytesPerRequest(m: ModelSpec, tokens: number, tp = 1): number {
  return blocksPerLayer(tokens) * m.layers * kvBytesPerBlock(m, tp);
}

/** Weight bytes of one transformer layer (attention projections + gated MLP), per TP rank. */
export function weightBytesPerLayer(m: ModelSpec, tp = 1): number {
  const q = m.hiddenSize * m.attentionHeads * m.headDim;
  const kv = 2 * m.hiddenSize * m.kvHeads * m.headDim;
  const o = m.attentionHeads * m.headDim * m.hiddenSize;
  const mlp = 3 * m.hiddenSize * m.intermediateSize;
  return ((q + kv + o + mlp) * m.weightDtypeBytes) / tp;
}
