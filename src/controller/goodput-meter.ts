/**
 * The run's SLO-attaining token rate, as the controller sees tokens arrive: a token counts when
 * its gap since the request's previous token is within the request's TPOT SLO (first tokens count
 * too). A sliding window of engine time, so it follows the load.
 */
export class GoodputMeter {
  private readonly last = new Map<string, number>();
  private readonly times: number[] = [];
  private readonly counts: number[] = [];
  private head = 0;
  private sum = 0;
  private firstMs = Number.NaN;
  private readonly allTimes: number[] = [];
  private readonly allCounts: number[] = [];
  private allHead = 0;
  private allSum = 0;

  constructor(private readonly windowMs = 60_000) {}

  onTokens(id: string, nowMs: number, tokens: number, sloMs: number | undefined): void {
    if (Number.isNaN(this.firstMs)) this.firstMs = nowMs;
    const prev = this.last.get(id);
    this.last.set(id, nowMs);
    this.allTimes.push(nowMs);
    this.allCounts.push(tokens);
    this.allSum += tokens;
    // Several tokens in one report: the gap is shared by them.
    const good = prev === undefined || sloMs === undefined || (nowMs - prev) / tokens <= sloMs ? tokens : 0;
    if (good === 0) return;
    this.times.push(nowMs);
    this.counts.push(good);
    this.sum += good;
  }

  forget(id: string): void {
    this.last.delete(id);
  }

  /** Every token (good or not) per ms over the last window. */
  outputRatePerMs(nowMs: number): number {
    while (this.allHead < this.allTimes.length && this.allTimes[this.allHead] < nowMs - this.windowMs) this.allSum -= this.allCounts[this.allHead++];
    if (this.allHead > 4096 && this.allHead * 2 > this.allTimes.length) {
      this.allTimes.splice(0, this.allHead);
      this.allCounts.splice(0, this.allHead);
      this.allHead = 0;
    }
    if (Number.isNaN(this.firstMs)) return 0;
    const span = Math.min(this.windowMs, nowMs - this.firstMs);
    return span > 0 ? this.allSum / span : 0;
  }

  /** Good tokens per ms over the last window (or since the first token, if shorter). */
  ratePerMs(nowMs: number): number {
    while (this.head < this.times.length && this.times[this.head] < nowMs - this.windowMs) this.sum -= this.counts[this.head++];
    if (this.head > 4096 && this.head * 2 > this.times.length) {
      this.times.splice(0, this.head);
      this.counts.splice(0, this.head);
      this.head = 0;
    }
    if (Number.isNaN(this.firstMs)) return 0;
    const span = Math.min(this.windowMs, nowMs - this.firstMs);
    return span > 0 ? this.sum / span : 0;
  }
}
