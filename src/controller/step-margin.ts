/**
 * The SLO margin plans are held to: the q-quantile of measured / predicted step time over the
 * last `size` decode steps (never below 1). The profile predicts the model's step; the engine
 * adds what no profile sees (scheduling overhead, the host write-through, noise), and a plan that
 * meets θ only on paper misses it on the engine about half the time.
 */
export class StepMargin {
  private readonly ratios: Float64Array;
  private n = 0;
  private next = 0;

  constructor(
    private readonly size = 256,
    private readonly q = 0.98,
  ) {
    this.ratios = new Float64Array(size);
  }

  observe(measuredMs: number, predictedMs: number): void {
    if (!(predictedMs > 0) || !(measuredMs > 0)) return;
    this.ratios[this.next] = measuredMs / predictedMs;
    this.next = (this.next + 1) % this.size;
    this.n = Math.min(this.n + 1, this.size);
  }

  get value(): number {
    if (this.n === 0) return 1;
    const xs = Array.from(this.ratios.subarray(0, this.n)).sort((a, b) => a - b);
    return Math.max(1, xs[Math.min(this.n - 1, Math.floor(this.q * this.n))]);
  }
}

/** The share of engine time spent in prefill steps, as an exponentially weighted mean over steps (≈ the last 1/α). */
export class PrefillShare {
  private prefillMs = 0;
  private totalMs = 0;

  constructor(private readonly alpha = 0.002) {}

  observe(kind: 'decode' | 'prefill', stepMs: number): void {
    const a = this.alpha;
    this.prefillMs = (1 - a) * this.prefillMs + a * (kind === 'prefill' ? stepMs : 0);
    this.totalMs = (1 - a) * this.totalMs + a * stepMs;
  }

  get value(): number {
    return this.totalMs > 0 ? this.prefillMs / this.totalMs : 0;
  }
}
