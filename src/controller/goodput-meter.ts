/**
 * The run's SLO-attaining token rate, as the controller sees tokens arrive: a token counts when
 * its gap since the request's previous token is within the request's TPOT SLO (first tokens count
 * too). A sliding window of engine time, so it follows the load.
 */
export class GoodputMeter {
  private readonly last = new Map<string, number>();
  private readonly good = new WindowSum();
  private readonly all = new WindowSum();
  private firstMs = Number.NaN;

  constructor(private readonly windowMs = 60_000) {}

  onTokens(id: string, nowMs: number, tokens: number, sloMs: number | undefined): void {
    if (Number.isNaN(this.firstMs)) this.firstMs = nowMs;
    const prev = this.last.get(id);
    this.last.set(id, nowMs);
    this.all.add(nowMs, tokens);
    // Several tokens in one report: the gap is shared by them.
    const good = prev === undefined || sloMs === undefined || (nowMs - prev) / tokens <= sloMs ? tokens : 0;
    if (good > 0) this.good.add(nowMs, good);
  }

  forget(id: string): void {
    this.last.delete(id);
  }

  /** Every token (good or not) per ms over the last window. */
  outputRatePerMs(nowMs: number): number {
    return this.rate(this.all, nowMs);
  }

  /** Good tokens per ms over the last window (or since the first token, if shorter). */
  ratePerMs(nowMs: number): number {
    return this.rate(this.good, nowMs);
  }

  private rate(w: WindowSum, nowMs: number): number {
    const sum = w.since(nowMs - this.windowMs);
    if (Number.isNaN(this.firstMs)) return 0;
    const span = Math.min(this.windowMs, nowMs - this.firstMs);
    return span > 0 ? sum / span : 0;
  }
}

/** A sum of timed counts over a sliding window: entries older than the cutoff drop out. */
class WindowSum {
  private readonly times: number[] = [];
  private readonly counts: number[] = [];
  private head = 0;
  private sum = 0;

  add(timeMs: number, count: number): void {
    this.times.push(timeMs);
    this.counts.push(count);
    this.sum += count;
  }

  /** The sum of the entries at or after `cutoffMs` (the cutoff only moves forward). */
  since(cutoffMs: number): number {
    while (this.head < this.times.length && this.times[this.head] < cutoffMs) this.sum -= this.counts[this.head++];
    if (this.head > 4096 && this.head * 2 > this.times.length) {
      this.times.splice(0, this.head);
      this.counts.splice(0, this.head);
      this.head = 0;
    }
    return this.sum;
  }
}
