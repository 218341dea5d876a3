/**
 * The engine's notion of time, in simulated milliseconds from the engine's start. The same engine
 * loop runs on either: the virtual clock jumps to the next event; the wall clock waits real time
 * (divided by a time scale) on timers.
 */
export interface Clock {
  readonly kind: 'virtual' | 'wall';
  now(): number;
  /** Resolve once `now() >= t`. The virtual clock jumps there and returns undefined (no await needed). */
  sleepUntil(t: number): Promise<void> | undefined;
}

export class VirtualClock implements Clock {
  readonly kind = 'virtual';
  private t = 0;
  now(): number {
    return this.t;
  }
  sleepUntil(t: number): undefined {
    if (t > this.t) this.t = t;
    return undefined;
  }
}

// Timers fire ≥ 1 ms late; sleep on a timer to within this margin, then poll with setImmediate
// (I/O keeps flowing between polls) so a step ends within a fraction of a millisecond of its due time.
const SPIN_MARGIN_MS = 2;

export class WallClock implements Clock {
  readonly kind = 'wall';
  private readonly t0: number;

  /** `timeScale` > 1 runs simulated time faster than real time (wall = simulated / timeScale). */
  constructor(readonly timeScale = 1) {
    if (!(timeScale > 0)) throw new RangeError(`time scale must be > 0, got ${timeScale}`);
    this.t0 = performance.now();
  }

  now(): number {
    return (performance.now() - this.t0) * this.timeScale;
  }

  sleepUntil(t: number): Promise<void> {
    return new Promise((resolve) => {
      const poll = (): void => {
        const leftWallMs = (t - this.now()) / this.timeScale;
        if (leftWallMs <= 0) resolve();
        else if (leftWallMs > SPIN_MARGIN_MS) setTimeout(poll, leftWallMs - SPIN_MARGIN_MS);
        else setImmediate(poll);
      };
      poll();
    });
  }
}
