import type { MonotonicMs } from '../core/solve-limit.js';
import { setMaxListeners } from 'node:events';
import type { Endpoint } from '../core/endpoint.js';
import { HttpCallError } from '../core/http-call.js';
import type { Controller } from './controller.js';
import { ControlClient, observedRequests, observedWaiting, type ControlClientOptions, type StepEvent } from './http-adapter.js';

/** How long stop() waits for a solve in flight before it lets the run end without it. */
const STOP_WAIT_MS = 1000;

/**
 * Runs the controller against a live engine over the control protocol: each decode step event
 * brings a fresh state read (skipped while one is in flight, so a slow read never queues up),
 * an observation, maybe a solve in the worker; a finished plan is PUT at once.
 *
 * A control call that times out, or is answered with a redirect, turns the loop off for the rest
 * of the run (said once through `onOff`, kept in `turnedOff`): a stalled control plane degrades to
 * "controller off" and never holds up the replay, its end or its signal path.
 */
export class LiveControlLoop {
  private readonly client: ControlClient;
  private closeEvents: (() => void) | null = null;
  private reading = false;
  private stopped = false;
  /** Aborts every control call in flight (stop, turn-off). */
  private readonly calls = new AbortController();
  private applying: Promise<void> = Promise.resolve();
  putErrors = 0;
  stateErrors = 0;
  callTimeouts = 0;
  staleRejections = 0;
  eventsSeen = 0;
  /** Set when the loop turned itself off mid-run: why, and when (on `clockMs`). */
  turnedOff: { reason: string; atMs: number } | null = null;

  constructor(
    endpoint: Endpoint,
    readonly controller: Controller,
    private readonly onError: (e: Error) => void = () => {},
    /** The clock token times are stamped with (deposits and pause times use it too). */
    private readonly clockMs: MonotonicMs,
    opts: ControlClientOptions & { onOff?: (reason: string) => void } = {},
  ) {
    this.client = new ControlClient(endpoint, opts);
    // Every call in flight listens on it (several PUTs can be outstanding against a slow engine).
    setMaxListeners(0, this.calls.signal);
    this.onOff = opts.onOff ?? (() => {});
  }

  private readonly onOff: (reason: string) => void;

  start(): void {
    this.closeEvents = this.client.events(
      (ev) => this.onEvent(ev),
      (err) => {
        if (!this.stopped && err) this.onError(err);
      },
    );
  }

  /** A failed control call: a deadline or a redirect turns the controller off; anything else is reported. */
  private failed(e: Error): void {
    if (this.stopped) return;
    if (e instanceof HttpCallError && (e.kind === 'timeout' || e.kind === 'redirect')) {
      if (e.kind === 'timeout') this.callTimeouts++;
      this.turnOff(`control plane ${e.kind === 'timeout' ? 'stalled' : 'redirects'}: ${e.message}`);
      return;
    }
    this.onError(e);
  }

  private turnOff(reason: string): void {
    if (this.turnedOff !== null) return;
    this.turnedOff = { reason, atMs: this.clockMs() };
    this.halt();
    this.onOff(reason);
  }

  private halt(): void {
    this.stopped = true;
    this.closeEvents?.();
    this.calls.abort();
  }

  private onEvent(ev: StepEvent): void {
    this.eventsSeen++;
    if (this.reading || this.stopped) return;
    this.reading = true;
    this.client
      .state(this.calls.signal)
      .then((state) => {
        if (this.stopped) return;
        const nowMs = this.clockMs();
        const maxNumSeqs = state.max_num_seqs;
        const trigger = this.controller.observe({
          step: state.step,
          kind: ev.kind,
          nowMs,
          stepMs: ev.step_ms,
          requests: observedRequests(state, nowMs),
          ...(maxNumSeqs !== undefined ? { maxNumSeqs, waiting: observedWaiting(state, this.controller.waitingToObserve(maxNumSeqs), nowMs) } : {}),
          batchIds: ev.batch_ids,
          gpuBlocksTotal: state.gpu_blocks.total,
          gpuBlocksUsed: state.gpu_blocks.used,
        });
        if (trigger) void this.controller.idle().then(() => this.flush());
      })
      .catch((e: Error) => {
        this.stateErrors++;
        this.failed(e);
      })
      .finally(() => {
        this.reading = false;
      });
  }

  private flush(): void {
    const ready = this.controller.takeReady(Number.POSITIVE_INFINITY);
    if (!ready || this.stopped) return;
    this.applying = this.client.put(ready.action, this.calls.signal).then(
      (res) => {
        if (res.ok) this.controller.markApplied(ready.record, res.appliedAtStep, this.clockMs());
        else {
          if (res.reason === 'stale') this.staleRejections++;
          this.controller.markRejected(ready.record, `${res.reason}: ${res.message}`);
        }
      },
      (e: Error) => {
        this.putErrors++;
        this.failed(e);
      },
    );
  }

  /** Ends the loop at once: calls in flight are aborted, a solve in flight gets at most STOP_WAIT_MS. */
  async stop(): Promise<void> {
    this.halt();
    await this.applying;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.controller.idle(), new Promise<void>((r) => (timer = setTimeout(r, STOP_WAIT_MS)))]);
    clearTimeout(timer);
  }
}
