/** The longest delay a Node timer keeps: a longer one fires after 1 ms instead (TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimeout {
  clear(): void;
}

/**
 * setTimeout for any delay: a delay past MAX_TIMER_MS is waited out in steps, so a limit of
 * 30 days (--request-timeout-s 2592000, a run deadline after a week-long trace) means 30 days,
 * never 1 ms. Infinity never fires. Timers are unref'd only if `unref` is set.
 */
export function setLongTimeout(fn: () => void, ms: number, unref = false): LongTimeout {
  let timer: NodeJS.Timeout | undefined;
  const due = Date.now() + ms;
  const arm = (left: number): void => {
    if (!Number.isFinite(left)) return;
    timer = setTimeout(() => {
      const rest = due - Date.now();
      if (rest > 0) arm(rest);
      else fn();
    }, Math.min(Math.max(left, 0), MAX_TIMER_MS));
    if (unref) timer.unref();
  };
  arm(ms);
  return {
    clear() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
