import { createHash } from 'node:crypto';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Short content id used in result metadata (first 16 hex chars of SHA-256). */
export function shortHash(data: string | Uint8Array): string {
  return sha256Hex(data).slice(0, 16);
}
