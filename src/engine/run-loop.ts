import type { Clock } from './clock.js';
import type { EngineCore } from './engine-core.js';
import type { PlacementDriver } from './types.js';

export interface RunLoopOptions {
  /** Return once nothing is running, waiting or pending (virtual runs); otherwise idle until woken or stopped. */
  untilDrained: boolean;
  driver?: PlacementDriver;
}

/**
 * The one engine loop, for both clocks: release arrivals, let the driver re-plan, prepare a step,
 * wait its duration on the clock, commit it. Idle: the virtual clock jumps to the next arrival;
 * the wall clock waits until `wake()` (a new request) or `stop()`.
 */
export class EngineLoop {
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private done: Promise<void> | null = null;

  constructor(
    readonly core: EngineCore,
    readonly clock: Clock,
    private readonly opts: RunLoopOptions,
  ) {}

  /** Start (once) and return the promise that settles when the loop ends. */
  start(): Promise<void> {
    this.done ??= this.run();
    return this.done;
  }

  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    return this.done ?? Promise.resolve();
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      this.wakeUp = resolve;
    });
  }

  private async run(): Promise<void> {
    const { core, clock } = this;
    const driver = this.opts.driver;
    while (!this.stopped) {
      core.releaseArrivals(clock.now());
      if (!core.hasWork()) {
        const next = core.nextArrivalMs();
        if (next === undefined) {
          if (this.opts.untilDrained) return;
          await this.idle();
          continue;
        }
        const p = clock.sleepUntil(next);
        if (p) await Promise.race([p, this.idle()]);
        continue;
      }
      if (driver) {
        const decision = await driver.onStep(core);
        if (this.stopped) return;
        if (decision) {
          const res = core.applyDecision(decision, 'driver');
          driver.onDecisionResult?.(res, core);
        }
      }
      const plan = core.prepareStep(clock.now());
      if (!plan) continue;
      const p = clock.sleepUntil(plan.endMs);
      if (p) await p;
      core.commitStep(plan, clock.now());
    }
  }
}
