import type { ReplayHooks } from './run-replay.js';

type Hook<K extends keyof ReplayHooks> = Required<ReplayHooks>[K];

/**
 * A replay's events for any number of subscribers (the progress view, the telemetry scraper, the
 * feedback controller, …): each event goes to every subscriber that handles it, in the order they
 * subscribed. A subscriber may join until the run starts. The handlers are bound, so a runner may
 * pass one on as a plain callback.
 */
export class HookBus implements Required<ReplayHooks> {
  private readonly subscribers: ReplayHooks[] = [];

  subscribe(hooks: ReplayHooks): void {
    this.subscribers.push(hooks);
  }

  readonly onStart: Hook<'onStart'> = (info) => {
    for (const s of this.subscribers) s.onStart?.(info);
  };

  readonly onRequestEvent: Hook<'onRequestEvent'> = (type, rec) => {
    for (const s of this.subscribers) s.onRequestEvent?.(type, rec);
  };

  readonly onTokenChunk: Hook<'onTokenChunk'> = (rec) => {
    for (const s of this.subscribers) s.onTokenChunk?.(rec);
  };

  readonly onFinish: Hook<'onFinish'> = (outcome) => {
    for (const s of this.subscribers) s.onFinish?.(outcome);
  };
}
