import type { Controller } from './controller.js';
import { ControlClient, observedRequests, type StepEvent } from './http-adapter.js';

/**
 * Runs the controller against a live engine over the control protocol: each decode step event
 * brings a fresh state read (skipped while one is in flight, so a slow read never queues up),
 * an observation, maybe a solve in the worker; a finished plan is PUT at once.
 */
export class LiveControlLoop {
  private readonly client: ControlClient;
  private closeEvents: (() => void) | null = null;
  private reading = false;
  private stopped = false;
  private applying: Promise<void> = Promise.resolve();
  putErrors = 0;
  staleRejections = 0;
  eventsSeen = 0;

  constructor(
    endpoint: string,
    readonly controller: Controller,
    private readonly onError: (e: Error) => void = () => {},
    /** The clock token times are stamped with (deposits and pause times use it too). */
    private readonly clockMs: () => number = () => performance.now(),
  ) {
    this.client = new ControlClient(endpoint);
  }

  start(): void {
    this.closeEvents = this.client.events(
      (ev) => this.onEvent(ev),
      (err) => {
        if (!this.stopped && err) this.onError(err);
      },
    );
  }

  private onEvent(ev: StepEvent): void {
    this.eventsSeen++;
    if (this.reading || this.stopped) return;
    this.reading = true;
    this.client
      .state()
      .then((state) => {
        const trigger = this.controller.observe({
          step: state.step,
          kind: ev.kind,
          nowMs: this.clockMs(),
          stepMs: ev.step_ms,
          requests: observedRequests(state),
          batchIds: ev.batch_ids,
          gpuBlocksTotal: state.gpu_blocks.total,
          gpuBlocksUsed: state.gpu_blocks.used,
        });
        if (trigger) void this.controller.idle().then(() => this.flush());
      })
      .catch((e: Error) => this.onError(e))
      .finally(() => {
        this.reading = false;
      });
  }

  private flush(): void {
    const ready = this.controller.takeReady(Number.POSITIVE_INFINITY);
    if (!ready || this.stopped) return;
    this.applying = this.client.put(ready.action).then(
      (res) => {
        if (res.ok) this.controller.markApplied(ready.record, res.appliedAtStep, this.clockMs());
        else {
          if (res.reason === 'stale') this.staleRejections++;
          this.controller.markRejected(ready.record, `${res.reason}: ${res.message}`);
        }
      },
      (e: Error) => {
        this.putErrors++;
        this.onError(e);
      },
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.closeEvents?.();
    await this.applying;
    await this.controller.idle();
  }
}
