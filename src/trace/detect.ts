import { closeSync, openSync, readSync } from 'node:fs';
import { OrbitflowError } from '../core/errors.js';
import { checkInputFile } from '../core/input-file.js';
import type { TraceFormat } from './types.js';
import { AZURE_COLUMNS } from './read-azure.js';
import { BURSTGPT_COLUMNS } from './read-burstgpt.js';

const PROBE_BYTES = 64 * 1024;
/** How far the first line is looked for: a JSONL row can be long (hash_ids of a 1 M-token prompt). */
const MAX_FIRST_LINE_BYTES = 16 * 1024 * 1024;

/** Throws exit 2 naming the file when it is missing or not a regular file; returns its size. */
export function checkTraceFile(file: string): number {
  return checkInputFile(file, { what: 'trace', code: 'OF_TRACE_FILE' });
}

/** The start of the file: at least PROBE_BYTES, and on to the end of its first non-blank line (up to a cap). */
function head(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const parts: Buffer[] = [];
    let total = 0;
    let content = false;
    let lineEnded = false;
    while (!lineEnded && total < MAX_FIRST_LINE_BYTES) {
      const buf = Buffer.alloc(PROBE_BYTES);
      const n = readSync(fd, buf, 0, PROBE_BYTES, total);
      if (n === 0) break;
      parts.push(buf.subarray(0, n));
      total += n;
      for (let i = 0; i < n && !lineEnded; i++) {
        const b = buf[i];
        if (b === 0x0a) lineEnded = content;
        else if (b !== 0x20 && b !== 0x09 && b !== 0x0d) content = true;
      }
    }
    return Buffer.concat(parts, total).toString('utf8').replace(/^\uFEFF/, '');
  } finally {
    closeSync(fd);
  }
}

function csvHeader(line: string): string[] {
  return line.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
}

/**
 * Picks the format from the header or first line. `--columns` without `--format` means a generic
 * trace (CSV or JSONL by the first character).
 */
export function detectFormat(file: string, columns: string | undefined): TraceFormat {
  const text = head(file);
  const first = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  const trimmed = first.trim();
  if (trimmed.startsWith('{')) {
    let obj: Record<string, unknown> | undefined;
    try {
      const v: unknown = JSON.parse(trimmed);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) obj = v as Record<string, unknown>;
    } catch {
      obj = undefined;
    }
    if (columns !== undefined) return 'jsonl';
    if (obj !== undefined && 'timestamp' in obj && 'input_length' in obj && 'output_length' in obj) return 'mooncake';
    if (obj !== undefined ? 'requests' in obj : /"requests"\s*:\s*\{/.test(text)) return 'orbitflow';
  } else {
    if (columns !== undefined) return 'csv';
    const header = new Set(csvHeader(first));
    if (AZURE_COLUMNS.every((c) => header.has(c))) return 'azure';
    if (BURSTGPT_COLUMNS.every((c) => header.has(c))) return 'burstgpt';
  }
  throw new OrbitflowError(
    'OF_TRACE_FORMAT',
    `${file}: cannot detect the trace format from its first line ('${trimmed.slice(0, 80)}'); tried azure (CSV header ${AZURE_COLUMNS.join(',')}), ` +
      `burstgpt (CSV header with ${BURSTGPT_COLUMNS.join(', ')}), mooncake (JSONL with timestamp, input_length, output_length), ` +
      `orbitflow (JSON object with requests); use --format, and --columns for a generic csv/jsonl trace`,
    { context: { file } },
  );
}
