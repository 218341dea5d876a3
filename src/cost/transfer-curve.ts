import { GIB } from '../core/units.js';
import type { TransferPoint } from '../core/profile-format.js';

/**
 * Time of one host↔device copy from a measured bandwidth-vs-size curve. The achieved bandwidth is
 * interpolated linearly in log2(size) between measured sizes (it rises with size as the fixed
 * per-copy cost is amortised); outside the measured range the nearest end is used.
 */
export class TransferCurve {
  private readonly logSizes: Float64Array;
  private readonly bytesPerMs: Float64Array;

  constructor(points: readonly TransferPoint[], readonly scale = 1) {
    if (points.length === 0) throw new RangeError('a transfer curve needs at least one point');
    const sorted = [...points].sort((a, b) => a.bytes - b.bytes);
    this.logSizes = Float64Array.from(sorted, (p) => Math.log2(p.bytes));
    this.bytesPerMs = Float64Array.from(sorted, (p) => (p.gib_per_s * GIB * scale) / 1000);
  }

  /** Achieved bytes per millisecond for a copy of `bytes`. */
  rateBytesPerMs(bytes: number): number {
    const n = this.logSizes.length;
    if (bytes <= 0) return this.bytesPerMs[0];
    const x = Math.log2(bytes);
    if (x <= this.logSizes[0]) return this.bytesPerMs[0];
    if (x >= this.logSizes[n - 1]) return this.bytesPerMs[n - 1];
    let lo = 0;
    let hi = n - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (this.logSizes[mid] <= x) lo = mid;
      else hi = mid;
    }
    const f = (x - this.logSizes[lo]) / (this.logSizes[hi] - this.logSizes[lo]);
    return this.bytesPerMs[lo] + f * (this.bytesPerMs[hi] - this.bytesPerMs[lo]);
  }

  /** Milliseconds to move `bytes` in one copy (0 for nothing). */
  timeMs(bytes: number): number {
    if (bytes <= 0) return 0;
    return bytes / this.rateBytesPerMs(bytes);
  }

  /** The asymptotic (largest-size) rate in GiB/s. */
  peakGiBPerS(): number {
    return (this.bytesPerMs[this.bytesPerMs.length - 1] * 1000) / GIB / this.scale;
  }
}
