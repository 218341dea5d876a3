import { percentileSorted } from '../core/stats.js';
import { outputTokens, tpotMs, ttftMs, type RequestRecord } from './request-record.js';

/** What the live view and the progress lines show; taken at most a few times a second. */
export interface LiveSnapshot {
  elapsedS: number;
  /** Arrival time of the last request: how long the trace lasts at this speed. */
  traceDurationS: number;
  total: number;
  released: number;
  sent: number;
  finished: number;
  failed: number;
  inFlight: number;
  /** Rolling over the last finished requests. */
  ttftP50Ms: number;
  ttftP99Ms: number;
  tpotP50Ms: number;
  tpotP99Ms: number;
  outputTokens: number;
  /** Output tokens per second, oldest first, one per whole second (the last is partial). */
  tokensPerS: number[];
  /** One line from the feedback controller, when one is attached. */
  controllerLine?: string;
}

const WINDOW = 256;
const BINS = 60;

/** Cheap accumulation on the hot path (a few adds per message); percentiles only in snapshot(). */
export class LiveStats {
  private readonly total: number;
  private readonly traceDurationS: number;
  private released = 0;
  private sent = 0;
  private finished = 0;
  private finishedSent = 0;
  private failed = 0;
  private tokens = 0;
  private readonly ttft = new Float64Array(WINDOW);
  private readonly tpot = new Float64Array(WINDOW);
  private ring = 0;
  private ringFill = 0;
  private readonly bins = new Float64Array(BINS);
  private binSecond = 0;

  constructor(total: number, traceDurationS: number) {
    this.total = total;
    this.traceDurationS = traceDurationS;
  }

  onReleased(): void {
    this.released++;
  }

  onSent(): void {
    this.sent++;
  }

  /** A token message: its tokens go into the bin of the second it arrived in (ms since t0). */
  onTokenChunk(rec: RequestRecord): void {
    const k = rec.chunkMs.length - 1;
    const m = rec.chunkTokens[k];
    const tokens = m >= 0 ? m : 1;
    this.tokens += tokens;
    this.addToBin(Math.floor((rec.sentMs + rec.chunkMs[k]) / 1000), tokens);
  }

  onDone(rec: RequestRecord): void {
    this.finished++;
    if (!Number.isNaN(rec.sentMs)) this.finishedSent++;
    if (rec.status !== 'ok') {
      this.failed++;
      return;
    }
    this.ttft[this.ring] = ttftMs(rec);
    this.tpot[this.ring] = outputTokens(rec) > 1 ? tpotMs(rec) : Number.NaN;
    this.ring = (this.ring + 1) % WINDOW;
    this.ringFill = Math.min(this.ringFill + 1, WINDOW);
  }

  private addToBin(second: number, tokens: number): void {
    if (second > this.binSecond) {
      for (let s = this.binSecond + 1; s <= second && s - this.binSecond <= BINS; s++) this.bins[s % BINS] = 0;
      this.binSecond = second;
    }
    if (this.binSecond - second < BINS) this.bins[((second % BINS) + BINS) % BINS] += tokens;
  }

  snapshot(elapsedMs: number): LiveSnapshot {
    this.addToBin(Math.floor(elapsedMs / 1000), 0);
    const pick = (a: Float64Array): number[] => {
      const xs: number[] = [];
      for (let i = 0; i < this.ringFill; i++) if (!Number.isNaN(a[i])) xs.push(a[i]);
      return xs.sort((x, y) => x - y);
    };
    const ttft = pick(this.ttft);
    const tpot = pick(this.tpot);
    const span = Math.min(BINS, this.binSecond + 1);
    const tokensPerS: number[] = [];
    for (let s = this.binSecond - span + 1; s <= this.binSecond; s++) tokensPerS.push(this.bins[((s % BINS) + BINS) % BINS]);
    return {
      elapsedS: elapsedMs / 1000,
      traceDurationS: this.traceDurationS,
      total: this.total,
      released: this.released,
      sent: this.sent,
      finished: this.finished,
      failed: this.failed,
      inFlight: this.sent - this.finishedSent,
      ttftP50Ms: percentileSorted(ttft, 50),
      ttftP99Ms: percentileSorted(ttft, 99),
      tpotP50Ms: percentileSorted(tpot, 50),
      tpotP99Ms: percentileSorted(tpot, 99),
      outputTokens: this.tokens,
      tokensPerS,
    };
  }
}
