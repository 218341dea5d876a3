import { OrbitflowError } from '../core/errors.js';
import { prepareOutputFile, writeFileAtomic } from '../core/output-files.js';
import { chartAssets } from './assets.js';
import { renderReportHtml } from './html.js';
import type { Report } from './model.js';

/** Before a run: the report's path is usable and the charting library is there to inline. */
export function checkReportPath(file: string, option = '--report'): void {
  prepareOutputFile(file, option);
  chartAssets();
}

/** Renders and writes the report atomically: whole or absent. */
export async function writeReport(file: string, report: Report, option = '--report'): Promise<number> {
  const html = renderReportHtml(report);
  try {
    await writeFileAtomic(file, html);
  } catch (e) {
    throw new OrbitflowError('OF_REPORT_WRITE', `${option} ${file}: cannot write the report (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      context: { file, option },
      cause: e,
    });
  }
  return Buffer.byteLength(html);
}
