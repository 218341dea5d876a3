/**
 * The settings `plan --trace --sweep KEY=v1,v2,…` can sweep, with what the minimum-meeting answer
 * looks for on each: the least of a resource (memory, batch slots, SLO slack) that meets the target,
 * or the most load (rate scale) that still meets it.
 */
export const SWEEP_AXES = {
  'gpu-kv-gib': { unit: 'GiB', want: 'min', integer: false, what: 'GPU KV memory per GPU' },
  'max-num-seqs': { unit: 'seqs', want: 'min', integer: true, what: 'most requests decoding at once' },
  'slo-scale': { unit: '× base', want: 'min', integer: false, what: 'TPOT SLO as a multiple of the all-on-GPU step' },
  'rate-scale': { unit: '× rate', want: 'max', integer: false, what: 'arrival rate as a multiple of the trace’s' },
} as const satisfies Record<string, { unit: string; want: 'min' | 'max'; integer: boolean; what: string }>;

export type SweepKey = keyof typeof SWEEP_AXES;
export const SWEEP_KEYS = Object.keys(SWEEP_AXES) as SweepKey[];

export function isSweepKey(k: string): k is SweepKey {
  return Object.hasOwn(SWEEP_AXES, k);
}

/** One swept setting and its values, ascending. */
export interface SweepAxis {
  key: SweepKey;
  values: number[];
}

/** One cell of the grid: a value for every axis. */
export type SweepPoint = Partial<Record<SweepKey, number>>;

/** Every combination of the axes' values, the first axis varying slowest. */
export function gridPoints(axes: readonly SweepAxis[]): SweepPoint[] {
  let points: SweepPoint[] = [{}];
  for (const a of axes) points = points.flatMap((p) => a.values.map((v) => ({ ...p, [a.key]: v })));
  return points;
}

/** `gpu-kv-gib=4, rate-scale=2` */
export function describePoint(p: SweepPoint): string {
  return Object.entries(p).map(([k, v]) => `${k}=${v}`).join(', ');
}
