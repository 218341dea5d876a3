import type { Clock } from '../../src/replay/clock.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Virtual time for pacing tests: time moves only when the test steps it. A sleeper wakes at its
 * due time plus `lateMs` (to model a clock that oversleeps).
 */
export class FakeClock implements Clock {
  t = 0;
  lateMs = 0;
  private sleeper: { t: number; resolve: () => void } | null = null;

  now(): number {
    return this.t;
  }

  sleepUntil(t: number, signal?: AbortSignal): Promise<void> {
    if (t <= this.t || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.sleeper = { t, resolve };
      signal?.addEventListener(
        'abort',
        () => {
          this.sleeper = null;
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Lets pending work run; if someone sleeps, jumps to its wake time and wakes it. False when nobody sleeps. */
  async step(): Promise<boolean> {
    await flush();
    const s = this.sleeper;
    if (s === null) return false;
    this.sleeper = null;
    this.t = Math.max(this.t, s.t + this.lateMs);
    s.resolve();
    await flush();
    return true;
  }

  async advance(ms: number): Promise<void> {
    await flush();
    this.t += ms;
    await flush();
  }

  close(): void {}
}
