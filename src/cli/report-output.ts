import { join } from 'node:path';
import type { Report } from '../report/model.js';
import { checkReportPath, writeReport } from '../report/write.js';
import type { CliContext } from './context.js';

/** Where a run's HTML report goes: `--report FILE`, and `report.html` in `--out DIR` where the command has one. */
export interface ReportTarget {
  file: string;
  /** The option that asked for it, named in any error. */
  option: '--report' | '--out';
}

export function reportTargets(report: unknown, outDir: unknown): ReportTarget[] {
  const targets: ReportTarget[] = [];
  if (typeof report === 'string') targets.push({ file: report, option: '--report' });
  if (typeof outDir === 'string') targets.push({ file: join(outDir, 'report.html'), option: '--out' });
  return targets;
}

/** Before the run: every target is writable and the charting library is there (exit 2 / 3 otherwise). */
export function checkReportTargets(report: unknown): void {
  if (report !== undefined) checkReportPath(String(report));
}

export async function writeReports(ctx: CliContext, targets: readonly ReportTarget[], build: () => Report): Promise<void> {
  if (targets.length === 0) return;
  const report = build();
  const before = ctx.finishing;
  ctx.finishing = { doing: 'writing the HTML report', lost: `the report (${targets.map((t) => t.file).join(', ')})` };
  try {
    for (const { file, option } of targets) {
      const bytes = await writeReport(file, report, option);
      ctx.stderr.write(`orbitflow: wrote ${file} (${(bytes / 1024).toFixed(0)} KiB)\n`);
    }
  } finally {
    ctx.finishing = before ?? null;
  }
}
