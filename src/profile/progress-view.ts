import type { ReactElement } from 'react';
import type { ProbeProgress } from './probe-run.js';

/** Where `orbitflow profile` reports what it is doing while it works. */
export interface ProgressSink {
  stage(stage: string, detail: string): void;
  progress(p: ProbeProgress): void;
  log(line: string): void;
  close(): Promise<void>;
}

/** Plain lines on stderr (CI logs, pipes, --json): one per stage and one per probe item. */
export function plainProgress(stderr: NodeJS.WritableStream): ProgressSink {
  return {
    stage: (stage, detail) => void stderr.write(`profile: ${stage}: ${detail}\n`),
    progress: (p) => void stderr.write(`  [${p.stage} ${p.step}/${p.steps}] ${p.what}\n`),
    log: (line) => void stderr.write(`  probe: ${line}\n`),
    close: async () => {},
  };
}

interface ViewState {
  done: string[];
  stage: string;
  detail: string;
  item: ProbeProgress | null;
  last: string | null;
  startedMs: number;
}

function bar(fraction: number, width = 24): string {
  const n = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `${'█'.repeat(n)}${'░'.repeat(width - n)}`;
}

/**
 * A live view for a terminal. ink and react are imported here, lazily, so a non-interactive run
 * (and the bundled CLI on a machine without node_modules) never loads them. Redraws at most 10×/s.
 */
export async function inkProgress(stdout: NodeJS.WriteStream): Promise<ProgressSink> {
  const [{ render, Box, Text, Static }, React] = await Promise.all([import('ink'), import('react')]);
  const h = React.createElement;
  const state: ViewState = { done: [], stage: 'start', detail: '', item: null, last: null, startedMs: performance.now() };
  const View = ({ s }: { s: ViewState }): ReactElement => {
    const elapsed = ((performance.now() - s.startedMs) / 1000).toFixed(0);
    return h(
      Box,
      { flexDirection: 'column' },
      h(Static, { items: s.done, children: (line: unknown, i: number) => h(Text, { key: i, dimColor: true }, String(line)) }),
      h(Text, null, h(Text, { bold: true }, `profile · ${s.stage}`), `  ${s.detail}  (${elapsed} s)`),
      s.item ? h(Text, null, `${bar(s.item.step / Math.max(1, s.item.steps))} ${s.item.stage} ${s.item.step}/${s.item.steps}  ${s.item.what}`) : null,
      s.last ? h(Text, { dimColor: true }, s.last) : null,
    );
  };
  const snapshot = (): ViewState => ({ ...state, done: [...state.done] });
  const instance = render(h(View, { s: snapshot() }), { stdout, patchConsole: false, exitOnCtrlC: false });
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const redraw = (): void => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      instance.rerender(h(View, { s: snapshot() }));
    }, 100);
  };
  return {
    stage(stage, detail) {
      if (state.stage !== 'start') state.done.push(`✓ ${state.stage}: ${state.detail}`);
      state.stage = stage;
      state.detail = detail;
      if (stage !== 'probe') state.item = null;
      redraw();
    },
    progress(p) {
      state.item = p;
      redraw();
    },
    log(line) {
      state.last = line;
      redraw();
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      state.done.push(`✓ ${state.stage}: ${state.detail}`);
      state.item = null;
      state.last = null;
      state.stage = 'done';
      state.detail = '';
      instance.rerender(h(View, { s: snapshot() }));
      instance.unmount();
      await instance.waitUntilExit();
    },
  };
}
