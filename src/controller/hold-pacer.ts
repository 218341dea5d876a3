/**
 * Prices a hold. Holding k admissible requests back for a step leaves k decode slots empty; when
 * the engine is busy to the end, that lengthens the run by about k · T / B (one step's worth of
 * the batch's per-slot time) and so costs the goodput rate times that in good tokens — that is
 * the price λ of one empty slot-step. The hold budget caps what holds may cost in all: while the
 * makespan they have given up exceeds `budget` × the time so far, λ grows (×e per budget's
 * worth of excess), so holds become rarer until spending is back under the cap.
 */
export class HoldPacer {
  private spentMs = 0;
  private startMs = Number.NaN;
  private heldSlots = 0;

  constructor(private readonly budget: number) {}

  /** The plan now in force holds `slots` admissible requests back (0: none). */
  holding(slots: number): void {
    this.heldSlots = slots;
  }

  /**
   * One engine step of `stepMs` with `batch` requests decoding and `waiting` queued. A held slot
   * costs makespan only when more work waits behind the held requests (the delay then carries to
   * the end of the run); with nothing behind them, later idle time absorbs it.
   */
  onStep(nowMs: number, stepMs: number, batch: number, waiting: number): void {
    if (Number.isNaN(this.startMs)) this.startMs = nowMs - stepMs;
    if (this.heldSlots > 0 && waiting > this.heldSlots) this.spentMs += (this.heldSlots * stepMs) / Math.max(1, batch);
  }

  /** Makespan given up to holds so far, as a fraction of the engine time elapsed. */
  spentFraction(nowMs: number): number {
    const elapsed = nowMs - this.startMs;
    return elapsed > 0 ? this.spentMs / elapsed : 0;
  }

  /** λ in violation units: the goodput value of one empty slot-step, raised while over budget. */
  price(goodPerMs: number, stepMs: number, batch: number, nowMs: number): number {
    const base = (goodPerMs * stepMs) / Math.max(1, batch);
    if (this.budget <= 0) return Infinity;
    const over = this.spentFraction(nowMs) / this.budget - 1;
    return over > 0 ? base * Math.exp(Math.min(over, 20)) : base;
  }
}
