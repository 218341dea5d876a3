import { createRng } from '../core/rng.js';
import type { TraceRequest } from '../core/trace-request.js';

export type PromptMode = 'token-ids' | 'text';

/** Token ids are drawn from [MIN, MAX): clear of the special/control ids at the bottom of common vocabularies. */
export const PROMPT_TOKEN_MIN = 1000;
export const PROMPT_TOKEN_MAX = 30000;

/** Mooncake's prefix-hash block (one hash id per 512 tokens). */
export const DEFAULT_HASH_BLOCK_TOKENS = 512;

// Short, common English words: one token each (with the leading space) in Llama/GPT/Qwen BPEs.
const WORDS = [
  'the', 'of', 'and', 'to', 'in', 'is', 'that', 'for', 'it', 'as', 'was', 'with', 'be', 'by', 'on', 'not',
  'he', 'this', 'are', 'or', 'his', 'from', 'at', 'which', 'but', 'have', 'an', 'had', 'they', 'you', 'were', 'their',
  'one', 'all', 'we', 'can', 'her', 'has', 'there', 'been', 'if', 'more', 'when', 'will', 'would', 'who', 'so', 'no',
  'time', 'people', 'year', 'way', 'day', 'man', 'thing', 'world', 'life', 'hand', 'part', 'child', 'eye', 'place', 'work', 'week',
];

/** Seeds for a block shared through a prefix hash, and for a request's own tokens, never collide. */
function blockSeed(seed: number, hashId: number): number {
  return (Math.imul(seed ^ 0x2545f491, 0x9e3779b1) ^ Math.imul(hashId | 0, 0x85ebca6b) ^ 0x68e31da4) >>> 0;
}

function requestSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x1b873593, 0x9e3779b1) ^ Math.imul(index, 0xcc9e2d51) ^ 0x7feb352d) >>> 0;
}

/**
 * Fills `out[from, to)` with one segment's draws. Requests that share a prefix hash id get the
 * same tokens for that block, so a prefix cache on the server sees the reuse the trace records;
 * requests without hash ids get tokens of their own.
 */
function forEachSegment(req: TraceRequest, seed: number, blockTokens: number, fill: (rng: ReturnType<typeof createRng>, from: number, to: number) => void): void {
  const n = req.inputTokens;
  const hashIds = req.hashIds;
  if (hashIds === undefined || hashIds.length === 0) {
    fill(createRng(requestSeed(seed, req.index)), 0, n);
    return;
  }
  let pos = 0;
  for (let b = 0; b < hashIds.length && pos < n; b++) {
    const end = Math.min(n, pos + blockTokens);
    fill(createRng(blockSeed(seed, hashIds[b])), pos, end);
    pos = end;
  }
  // Trace rows whose hash ids cover fewer tokens than input_length are padded with the request's own tokens.
  if (pos < n) fill(createRng(requestSeed(seed, req.index)), pos, n);
}

/** Exactly `inputTokens` token ids, deterministic in (request, seed). */
export function promptTokenIds(req: TraceRequest, seed: number, blockTokens = DEFAULT_HASH_BLOCK_TOKENS): Int32Array {
  const out = new Int32Array(req.inputTokens);
  const span = PROMPT_TOKEN_MAX - PROMPT_TOKEN_MIN;
  forEachSegment(req, seed, blockTokens, (rng, from, to) => {
    for (let i = from; i < to; i++) out[i] = PROMPT_TOKEN_MIN + Math.floor(rng.next() * span);
  });
  return out;
}

/** About `inputTokens` tokens of text: that many words from a fixed list, deterministic in (request, seed). */
export function promptText(req: TraceRequest, seed: number, blockTokens = DEFAULT_HASH_BLOCK_TOKENS): string {
  const words: string[] = new Array(req.inputTokens);
  forEachSegment(req, seed, blockTokens, (rng, from, to) => {
    for (let i = from; i < to; i++) words[i] = WORDS[Math.floor(rng.next() * WORDS.length)];
  });
  return words.join(' ');
}
