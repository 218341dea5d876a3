import type { LiveSnapshot } from '../replay/live-stats.js';

function ms(x: number): string {
  return Number.isFinite(x) && x > 0 ? `${Math.round(x)}ms` : '-';
}

/** One plain progress line for logs (stderr, when there is no live view). */
export function formatProgressLine(s: LiveSnapshot): string {
  const recent = s.tokensPerS.length >= 2 ? s.tokensPerS[s.tokensPerS.length - 2] : 0;
  return (
    `replay ${s.elapsedS.toFixed(0)}s/${s.traceDurationS.toFixed(0)}s trace: ` +
    `sent ${s.sent}/${s.total} done ${s.finished - s.failed} failed ${s.failed} in-flight ${s.inFlight} | ` +
    `TTFT p50 ${ms(s.ttftP50Ms)} p99 ${ms(s.ttftP99Ms)} | TPOT p50 ${ms(s.tpotP50Ms)} p99 ${ms(s.tpotP99Ms)} | ${recent} tok/s`
  );
}

const SPARKS = '▁▂▃▄▅▆▇█';

export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  if (max === 0) return SPARKS[0].repeat(values.length);
  return values.map((v) => SPARKS[Math.min(SPARKS.length - 1, Math.floor((v / max) * (SPARKS.length - 1)))]).join('');
}
