const BARS = '▁▂▃▄▅▆▇█';

/** One character per value, scaled from 0 to the largest value (bandwidth rises with size). */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values.filter((v) => Number.isFinite(v)));
  if (max <= 0) return BARS[0].repeat(values.length);
  return values
    .map((v) => {
      if (!Number.isFinite(v) || v <= 0) return ' ';
      const i = Math.min(BARS.length - 1, Math.max(0, Math.ceil((v / max) * BARS.length) - 1));
      return BARS[i];
    })
    .join('');
}
