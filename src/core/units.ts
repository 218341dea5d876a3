export const KIB = 1024;
export const MIB = 1024 * 1024;
export const GIB = 1024 * 1024 * 1024;
/**
 * Most input (or output) tokens one trace request may have: above the context of every model in
 * the catalogue (128 Ki) and of the longest-context open models (1 Mi), and small enough that a
 * prompt of this length is a few MiB to build and send.
 */
export const MAX_REQUEST_TOKENS = 2 * 1024 * 1024;
/** Tokens per KV block: the vLLM / OrbitFlow granularity. */
export const BLOCK_TOKENS = 16;

export const bytesToGiB = (bytes: number): number => bytes / GIB;
export const gibToBytes = (gib: number): number => gib * GIB;
/** GiB/s → bytes per millisecond. */
export const gibPerSToBytesPerMs = (gibPerS: number): number => (gibPerS * GIB) / 1000;

export function blocksForTokens(tokens: number): number {
  return Math.ceil(tokens / BLOCK_TOKENS);
}

export function formatBytes(bytes: number): string {
  if (bytes >= GIB) return `${(bytes / GIB).toFixed(2)} GiB`;
  if (bytes >= MIB) return `${(bytes / MIB).toFixed(1)} MiB`;
  if (bytes >= KIB) return `${(bytes / KIB).toFixed(1)} KiB`;
  return `${bytes} B`;
}

export function formatMs(ms: number, digits = 2): string {
  if (!Number.isFinite(ms)) return String(ms);
  return `${ms.toFixed(digits)} ms`;
}
