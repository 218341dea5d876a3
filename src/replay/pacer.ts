import type { Clock } from './clock.js';

export interface PacerHooks {
  /** Item `i` is due and handed over (it may still wait for a concurrency slot). */
  release(i: number, nowMs: number): void;
  /** Item `i` gets a slot: issue it now. */
  start(i: number, nowMs: number): void;
  /** Called ahead of time, while the pacer would otherwise sleep, so `start(i)` has less to do. */
  prepare?(i: number): void;
}

export interface Pacer {
  /** Releases every item at its due time; resolves after the last release (or on stop). */
  run(): Promise<void>;
  /** A started item finished: its slot goes to the longest-waiting queued item. */
  finished(): void;
  /** Stops releasing and starting; returns the indices still queued (never started). */
  stop(): number[];
  /**
   * The thread is awake anyway (a socket read): if the item being slept for is due, release it
   * now rather than when the clock's wake-up gets its turn behind the I/O. Cheap: one compare.
   */
  poke(nowMs: number): void;
  inFlight(): number;
  queued(): number;
}

/**
 * Absolute-time pacing: item i is due at t0 + dueMs[i] (never "previous + gap", so lateness
 * does not accumulate). Items already due are released in one synchronous pass. With a
 * concurrency bound, released items wait in a FIFO; the wait is the client queue time.
 *
 *   queue: [ started … | head → waiting … | ← tail ]   (an index array, never shift()ed)
 */
export function createPacer(clock: Clock, t0Ms: number, dueMs: ArrayLike<number>, maxConcurrency: number, hooks: PacerHooks): Pacer {
  const n = dueMs.length;
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  let inFlight = 0;
  let stopped = false;
  /** The sleep in progress: its due time, and how to end it early (poke, stop). */
  let sleepingFor = Infinity;
  // A reason of our own: abort() without one builds a DOMException (a stack capture) per poke.
  const WOKEN = { woken: true };
  let wake: AbortController | null = null;
  const sleep = async (due: number): Promise<void> => {
    wake = new AbortController();
    sleepingFor = due;
    await clock.sleepUntil(due, wake.signal);
    sleepingFor = Infinity;
    wake = null;
  };

  const startNow = (i: number, nowMs: number): void => {
    inFlight++;
    hooks.start(i, nowMs);
  };

  return {
    async run() {
      let prepared = -1;
      for (let i = 0; i < n && !stopped; i++) {
        const due = t0Ms + dueMs[i];
        if (clock.now() < due) {
          if (hooks.prepare !== undefined && prepared < i) {
            hooks.prepare(i);
            prepared = i;
          }
          await sleep(due);
          if (stopped) break;
          // A clock may wake a hair early; never send before the due time.
          while (clock.now() < due) {
            await sleep(due);
            if (stopped) return;
          }
        }
        const now = clock.now();
        hooks.release(i, now);
        if (inFlight < maxConcurrency) startNow(i, now);
        else queue[tail++] = i;
      }
    },
    finished() {
      inFlight--;
      if (!stopped && head < tail && inFlight < maxConcurrency) startNow(queue[head++], clock.now());
    },
    stop() {
      stopped = true;
      wake?.abort(WOKEN);
      const left = Array.from(queue.subarray(head, tail));
      head = tail;
      return left;
    },
    poke(nowMs) {
      if (nowMs >= sleepingFor) wake?.abort(WOKEN);
    },
    inFlight: () => inFlight,
    queued: () => tail - head,
  };
}
