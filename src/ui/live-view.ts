import type { LiveSnapshot } from '../replay/live-stats.js';
import { makeReplayLive } from './replay-live.js';

export interface LiveView {
  /** Renders the final snapshot and unmounts. */
  stop(final: LiveSnapshot): Promise<void>;
}

/** Re-render period: 5 Hz (the brief allows ≤ 10 Hz); never per token. */
const FRAME_MS = 200;

/**
 * Starts the ink live view on a TTY. ink and react are imported here, lazily, because importing
 * them costs ~350 ms: only interactive runs pay it.
 */
export async function startLiveView(
  stdout: NodeJS.WriteStream,
  title: string,
  snapshot: () => LiveSnapshot,
  onQuit: () => void,
): Promise<LiveView> {
  const [ink, react] = await Promise.all([import('ink'), import('react')]);
  const ReplayLive = makeReplayLive(ink, react);
  const frame = (s: LiveSnapshot) => react.createElement(ReplayLive, { snapshot: s, title, onQuit });
  const instance = ink.render(frame(snapshot()), { stdout, exitOnCtrlC: false, patchConsole: false, maxFps: 10 });
  const timer = setInterval(() => instance.rerender(frame(snapshot())), FRAME_MS);
  return {
    async stop(final) {
      clearInterval(timer);
      instance.rerender(frame(final));
      instance.unmount();
      await instance.waitUntilExit().catch(() => undefined);
    },
  };
}
