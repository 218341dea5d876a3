import { usageError } from '../core/errors.js';
import type { TraceRequest } from '../core/trace-request.js';

/** One share of a trace: `index` of `count` (0-based, as a Kubernetes Indexed Job numbers its pods). */
export interface ShareSpec {
  index: number;
  count: number;
}

/** `--shard i/N`, 0 ≤ i < N. */
export function parseShard(text: string): ShareSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw usageError('--shard', `expected i/N (e.g. 0/4, from $JOB_COMPLETION_INDEX/4), got '${text}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 4096) throw usageError('--shard', `N must be 1..4096, got ${count} in '${text}'`);
  if (index >= count) throw usageError('--shard', `i must be 0..${count - 1} (0-based) for N = ${count}, got ${index} in '${text}'`);
  return { index, count };
}

/** The trace in schedule order: by arrival, then trace index (the order the pacer releases). */
export function scheduleOrder<T extends Pick<TraceRequest, 'arrivalS' | 'index'>>(requests: readonly T[]): T[] {
  return [...requests].sort((a, b) => a.arrivalS - b.arrivalS || a.index - b.index);
}

/**
 * Share `index` of `count`: every count-th request in schedule order, starting at `index`. Each
 * share offers 1/N of the load all along the trace (no share gets the burst), and the shares
 * partition the trace exactly, whatever machine computes them.
 */
export function shareOf<T extends Pick<TraceRequest, 'arrivalS' | 'index'>>(requests: readonly T[], share: ShareSpec): T[] {
  if (share.count === 1) return scheduleOrder(requests);
  return scheduleOrder(requests).filter((_, k) => k % share.count === share.index);
}

/**
 * A share's part of a --max-concurrency cap, so the shares together never have more than `cap`
 * in flight: ⌊cap/N⌋, one more for the first cap mod N shares. (A free slot of one share is not
 * lent to another's queue: each share queues its own requests.)
 */
export function capShare(cap: number, share: ShareSpec): number {
  if (!Number.isFinite(cap)) return cap;
  return Math.floor(cap / share.count) + (share.index < cap % share.count ? 1 : 0);
}
