/**
 * Runtime feedback on the cost model: compares each measured step's compute and transfer time with
 * what the (uncorrected) profile predicted for the same batch and placements, and keeps a running
 * correction — measured/predicted compute and predicted/measured bandwidth — as exponentially
 * weighted means. The controller rebuilds its CostModel with these scales, so plans follow the
 * engine as it really runs rather than the profile as measured.
 */
export interface StepSample {
  predictedComputeMs: number;
  predictedTransferMs: number;
  predictedTotalMs: number;
  measuredComputeMs?: number;
  measuredTransferMs?: number;
  measuredTotalMs: number;
}

export interface DriftOptions {
  /** Relative error beyond which a step counts as drifting (0.15 = 15 %). */
  tolerance: number;
  /** Consecutive drifting steps that fire the trigger. */
  consecutiveSteps: number;
  /** EWMA weight of a new sample. */
  alpha: number;
}

export const DEFAULT_DRIFT: DriftOptions = { tolerance: 0.15, consecutiveSteps: 3, alpha: 0.2 };

export class DriftCorrector {
  computeScale = 1;
  bandwidthScale = 1;
  private streak = 0;
  private samples = 0;

  constructor(private readonly opts: DriftOptions = DEFAULT_DRIFT) {}

  /**
   * Feed one step. `predictedWithCorrectionMs` is what the corrected model predicted; returns true
   * when it has been off by more than the tolerance for K consecutive steps (the drift trigger).
   */
  observe(s: StepSample, predictedWithCorrectionMs: number): boolean {
    const a = this.opts.alpha;
    if (s.measuredComputeMs !== undefined && s.predictedComputeMs > 0 && s.measuredComputeMs > 0) {
      this.computeScale = (1 - a) * this.computeScale + a * (s.measuredComputeMs / s.predictedComputeMs);
    } else if (s.measuredTransferMs === undefined && s.predictedTotalMs > 0) {
      // Only the total is known (an engine without the split): attribute it to compute.
      this.computeScale = (1 - a) * this.computeScale + a * (s.measuredTotalMs / s.predictedTotalMs);
    }
    if (s.measuredTransferMs !== undefined && s.predictedTransferMs > 0 && s.measuredTransferMs > 0) {
      this.bandwidthScale = (1 - a) * this.bandwidthScale + a * (s.predictedTransferMs / s.measuredTransferMs);
    }
    this.samples++;
    const err = predictedWithCorrectionMs > 0 ? Math.abs(s.measuredTotalMs - predictedWithCorrectionMs) / predictedWithCorrectionMs : 0;
    this.streak = err > this.opts.tolerance ? this.streak + 1 : 0;
    if (this.streak >= this.opts.consecutiveSteps) {
      this.streak = 0;
      return true;
    }
    return false;
  }

  get observedSteps(): number {
    return this.samples;
  }
}
