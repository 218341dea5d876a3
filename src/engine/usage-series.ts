import type { StepBreakdown } from './types.js';

/**
 * GPU KV use and host→GPU traffic of one simulated run over engine time, in 1 s buckets: what the
 * plan --trace report draws per policy. Use is the step-weighted mean of used / budget blocks in
 * the bucket; traffic is every byte fetched or reloaded host→GPU by steps that ended in it.
 */
export interface UsageSeries {
  bucketS: number;
  /** Steps that ended in each bucket (0: the engine idled). */
  steps: number[];
  /** Mean used / budget GPU blocks over those steps; null where there were none. */
  gpuKvUse: Array<number | null>;
  /** Bytes moved host→GPU (fetches of offloaded layers and reloads). */
  h2dBytes: number[];
}

export class UsageRecorder {
  private readonly steps: number[] = [];
  private readonly useSum: number[] = [];
  private readonly bytes: number[] = [];

  constructor(private readonly budgetBlocks: number, private readonly bucketMs = 1000) {}

  onStep(b: StepBreakdown): void {
    const k = Math.max(0, Math.floor(b.endMs / this.bucketMs));
    while (this.steps.length <= k) {
      this.steps.push(0);
      this.useSum.push(0);
      this.bytes.push(0);
    }
    this.steps[k]++;
    this.useSum[k] += this.budgetBlocks > 0 ? b.gpuBlocksUsed / this.budgetBlocks : 0;
    this.bytes[k] += b.bytesFetched + b.bytesReloaded;
  }

  series(): UsageSeries {
    return {
      bucketS: this.bucketMs / 1000,
      steps: [...this.steps],
      gpuKvUse: this.steps.map((n, i) => (n > 0 ? this.useSum[i] / n : null)),
      h2dBytes: [...this.bytes],
    };
  }
}
