/**
 * An independent least-squares solution for tests: the 3×3 normal equations of y on (1, b, x)
 * solved by Cramer's rule, with no scaling and no non-negativity (the cases it is used on have
 * positive coefficients).
 */
export function handFit(points: readonly { b: number; x: number; y: number }[]): { base: number; perSeq: number; perToken: number } {
  let n = 0, sb = 0, sx = 0, sbb = 0, sbx = 0, sxx = 0, sy = 0, sby = 0, sxy = 0;
  for (const p of points) {
    n += 1;
    sb += p.b;
    sx += p.x;
    sbb += p.b * p.b;
    sbx += p.b * p.x;
    sxx += p.x * p.x;
    sy += p.y;
    sby += p.b * p.y;
    sxy += p.x * p.y;
  }
  const det3 = (m: number[][]): number =>
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const a = [
    [n, sb, sx],
    [sb, sbb, sbx],
    [sx, sbx, sxx],
  ];
  const rhs = [sy, sby, sxy];
  const d = det3(a);
  const col = (k: number): number[][] => a.map((row, i) => row.map((v, j) => (j === k ? rhs[i] : v)));
  return { base: det3(col(0)) / d, perSeq: det3(col(1)) / d, perToken: det3(col(2)) / d };
}

export function relClose(actual: number, expected: number, rel: number): boolean {
  return Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), 1e-300);
}
