import { createRng, type Rng } from '../core/rng.js';

/**
 * Replicated copies of an arrival land within this many seconds after the original (uniform,
 * seeded), so a burst stays a burst while copies do not share one exact instant.
 */
export const REPLICA_SPREAD_S = 0.001;

export interface Mixed<T> {
  timeS: number;
  item: T;
  /** 0 for the original arrival, 1.. for replicas made by a rate scale above 1. */
  copy: number;
}

interface Entry<T> extends Mixed<T> {
  seq: number;
}

/**
 * Rate scaling and jitter over a sorted stream, still sorted on the way out.
 *
 * - rate scale X < 1 keeps each arrival with probability X; X ≥ 1 makes ⌊X⌋ copies plus one more
 *   with probability frac(X), copies after the first offset by U[0, REPLICA_SPREAD_S).
 * - jitter J ms moves each arrival by U[−J/2, +J/2] (clamped at 0).
 *
 * Re-sorting streams: an output time is never earlier than its input time − J/2, and inputs come
 * sorted, so once an input at t has been seen every held arrival at or before t − J/2 is final.
 * The heap therefore holds only the arrivals of one jitter window.
 */
export class ArrivalMixer<T> {
  private readonly heap: Entry<T>[] = [];
  private seq = 0;
  private readonly scaleRng: Rng;
  private readonly jitterRng: Rng;
  private readonly halfJitterS: number;
  thinned = 0;
  replicas = 0;

  constructor(
    private readonly rateScale: number,
    jitterMs: number,
    seed: number,
  ) {
    // Separate streams, so changing the jitter does not change which arrivals a rate scale keeps.
    this.scaleRng = createRng(seed ^ 0x52a7e5ca);
    this.jitterRng = createRng(seed ^ 0x3a77e2d1);
    this.halfJitterS = jitterMs / 2000;
  }

  /** True when the mixer changes nothing, so callers can skip it. */
  get identity(): boolean {
    return this.rateScale === 1 && this.halfJitterS === 0;
  }

  push(timeS: number, item: T): Mixed<T>[] {
    const x = this.rateScale;
    let copies: number;
    if (x < 1) copies = this.scaleRng.next() < x ? 1 : 0;
    else {
      const whole = Math.floor(x);
      copies = whole + (x > whole && this.scaleRng.next() < x - whole ? 1 : 0);
    }
    if (copies === 0) this.thinned++;
    else this.replicas += copies - 1;
    for (let c = 0; c < copies; c++) {
      let t = c === 0 ? timeS : timeS + this.scaleRng.next() * REPLICA_SPREAD_S;
      if (this.halfJitterS > 0) t = Math.max(0, t + (this.jitterRng.next() * 2 - 1) * this.halfJitterS);
      this.insert({ timeS: t, item, copy: c, seq: this.seq++ });
    }
    const ready: Mixed<T>[] = [];
    const safeS = timeS - this.halfJitterS;
    while (this.heap.length > 0 && this.heap[0].timeS <= safeS) ready.push(this.pop());
    return ready;
  }

  flush(): Mixed<T>[] {
    const out: Mixed<T>[] = [];
    while (this.heap.length > 0) out.push(this.pop());
    return out;
  }

  private less(a: Entry<T>, b: Entry<T>): boolean {
    return a.timeS < b.timeS || (a.timeS === b.timeS && a.seq < b.seq);
  }

  private insert(e: Entry<T>): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Mixed<T> {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return { timeS: top.timeS, item: top.item, copy: top.copy };
  }
}
