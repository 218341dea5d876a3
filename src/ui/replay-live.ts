import type { LiveSnapshot } from '../replay/live-stats.js';
import { sparkline } from './progress-line.js';

// ink and react arrive as arguments, never as imports: even a bundle (esbuild hoists the imports
// of inlined modules to the top) must not load them unless the live view starts.
type Ink = typeof import('ink');
type React = typeof import('react');

const BAR = 36;

/** sent/finished/failed against the whole trace: █ finished ok, ▓ failed, ▒ in flight, · not sent yet. */
export function progressBar(s: LiveSnapshot): string {
  if (s.total === 0) return '·'.repeat(BAR);
  const cells = (k: number): number => Math.round((k / s.total) * BAR);
  const ok = cells(s.finished - s.failed);
  const failed = cells(s.failed);
  const inFlight = Math.max(0, cells(s.sent) - ok - failed);
  return `${'█'.repeat(ok)}${'▓'.repeat(failed)}${'▒'.repeat(inFlight)}`.padEnd(BAR, '·').slice(0, BAR);
}

function ms(x: number): string {
  return Number.isFinite(x) && x > 0 ? `${x.toFixed(0)} ms` : '–';
}

export interface ReplayLiveProps {
  snapshot: LiveSnapshot;
  title: string;
  /** Stop the run (writes partial results), as Ctrl-C does. */
  onQuit: () => void;
}

/** The live view component, built from the given ink and react. Presentational: everything comes in the snapshot. */
export function makeReplayLive(ink: Ink, react: React): (props: ReplayLiveProps) => ReturnType<React['createElement']> {
  const { Box, Text, useInput, useStdin } = ink;
  const h = react.createElement;

  function QuitKeys({ onQuit }: { onQuit: () => void }): null {
    useInput((input, key) => {
      if (input === 'q' || (key.ctrl && input === 'c')) onQuit();
    });
    return null;
  }

  return function ReplayLive({ snapshot: s, title, onQuit }: ReplayLiveProps) {
    // Raw mode (needed for keys) only where stdin supports it; otherwise Ctrl-C stays a signal.
    const { isRawModeSupported } = useStdin();
    const recent = s.tokensPerS.slice(-40);
    const dim = (text: string) => h(Text, { dimColor: true }, text);
    return h(
      Box,
      { flexDirection: 'column', paddingX: 1 },
      isRawModeSupported ? h(QuitKeys, { onQuit }) : null,
      h(Text, { bold: true }, title),
      h(Text, null, `${progressBar(s)} ${s.finished}/${s.total}`, dim(`  sent ${s.sent} · failed ${s.failed} · in flight ${s.inFlight}`)),
      h(Text, null, `elapsed ${s.elapsedS.toFixed(1)} s `, dim(`of ${s.traceDurationS.toFixed(1)} s trace time`)),
      h(Text, null, `TTFT p50 ${ms(s.ttftP50Ms)} p99 ${ms(s.ttftP99Ms)}   TPOT p50 ${ms(s.tpotP50Ms)} p99 ${ms(s.tpotP99Ms)}`, dim('  (last 256 requests)')),
      h(Text, null, `tok/s ${sparkline(recent)} ${recent.length >= 2 ? recent[recent.length - 2] : 0}`),
      s.controllerLine ? h(Text, { color: 'cyan' }, s.controllerLine) : null,
      isRawModeSupported ? dim('q or Ctrl-C: stop and write partial results') : null,
    );
  };
}
