import { performance } from 'node:perf_hooks';

/**
 * Monotonic time for pacing and stamping, in ms. The pacer only ever has one sleep pending;
 * tests pass a fake clock so the pacing math is exact.
 */
export interface Clock {
  now(): number;
  /** Resolves at (or as soon as possible after) `tMs`, or early when `signal` aborts. */
  sleepUntil(tMs: number, signal?: AbortSignal): Promise<void>;
  /** Releases timers/threads the clock holds. */
  close(): void;
}

/**
 * Node timers fire on whole libuv milliseconds and can fire up to ~1.5 ms early against
 * performance.now() (measured on these machines), so sleep on a timer until `SPIN_MS` before the
 * due time and poll with setImmediate for the rest; I/O keeps flowing while it polls.
 */
const SPIN_MS = 2;

export function createTimerClock(): Clock {
  return {
    now: () => performance.now(),
    sleepUntil(tMs, signal) {
      return new Promise((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        const onAbort = (): void => {
          if (timer !== undefined) clearTimeout(timer);
          resolve();
        };
        const step = (): void => {
          timer = undefined;
          if (signal?.aborted) return;
          const remainingMs = tMs - performance.now();
          if (remainingMs <= 0) {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          } else if (remainingMs > SPIN_MS) {
            timer = setTimeout(step, remainingMs - SPIN_MS);
          } else {
            setImmediate(step);
          }
        };
        if (signal?.aborted) return resolve();
        signal?.addEventListener('abort', onAbort, { once: true });
        step();
      });
    },
    close() {},
  };
}

/** process.hrtime's clock in ms (CLOCK_MONOTONIC): one clock for every thread of the process, where performance.now() origins differ per thread. */
export function hrNowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** A Unix instant (ms) on the hrtime clock, via performance.timeOrigin + now (sub-millisecond; call it on a process's main thread). */
export function unixToHrMs(unixMs: number): number {
  return hrNowMs() + (unixMs - (performance.timeOrigin + performance.now()));
}
