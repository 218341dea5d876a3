import { parse as parseCsv } from 'csv-parse/sync';
import { inputError } from '../core/errors.js';
import { jsonValueLines, parseJsonText } from '../core/json-text.js';
import type { PlanRequest } from './types.js';

/**
 * Batch files for `orbitflow plan --batch`: the decode batch to place, as JSON
 * `{"requests":[{"id", "context_tokens", "slo_tpot_ms"?, "deposit_tokens"?}]}` or as CSV with that
 * header. Parsing is pure (text in); every error names the file, the line and the field (exit 2).
 */
export const BATCH_FIELDS = ['id', 'context_tokens', 'slo_tpot_ms', 'deposit_tokens'] as const;
const CODE = 'OF_PLAN_BATCH';

export type BatchFormat = 'json' | 'csv';

export function detectBatchFormat(file: string, text: string): BatchFormat {
  const lower = file.toLowerCase();
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.csv')) return 'csv';
  return text.trimStart().startsWith('{') ? 'json' : 'csv';
}

export function parseBatchFile(file: string, text: string): PlanRequest[] {
  return detectBatchFormat(file, text) === 'json' ? parseBatchJson(file, text) : parseBatchCsv(file, text);
}

interface RawRequest {
  where: (field: string) => { line: number | undefined; field: string };
  get: (field: string) => unknown;
  keys: string[];
}

function checkRequests(file: string, raws: RawRequest[]): PlanRequest[] {
  const out: PlanRequest[] = [];
  const seen = new Map<string, number | undefined>();
  for (const raw of raws) {
    const fail = (field: string, what: string): never => {
      const w = raw.where(field);
      throw inputError(CODE, file, w.line, w.field, what);
    };
    for (const k of raw.keys) {
      if (!(BATCH_FIELDS as readonly string[]).includes(k)) fail(k, `unknown field (expected ${BATCH_FIELDS.join(', ')})`);
    }
    const id = raw.get('id');
    let idStr: string;
    if (typeof id === 'string' && id.trim() !== '') idStr = id.trim();
    else if (typeof id === 'number' && Number.isInteger(id)) idStr = String(id);
    else idStr = fail('id', id === undefined || id === '' ? 'missing' : `expected a non-empty string or an integer, got ${JSON.stringify(id)}`);
    if (seen.has(idStr)) {
      const first = seen.get(idStr);
      fail('id', `duplicate id '${idStr}'${first !== undefined ? ` (first on line ${first})` : ''}`);
    }
    seen.set(idStr, raw.where('id').line);
    const ctx = raw.get('context_tokens');
    if (ctx === undefined || ctx === '') fail('context_tokens', 'missing');
    if (typeof ctx !== 'number' || !Number.isInteger(ctx) || ctx < 1) fail('context_tokens', `must be a positive integer number of tokens, got ${JSON.stringify(ctx)}`);
    const req: PlanRequest = { id: idStr, contextTokens: ctx as number };
    const slo = raw.get('slo_tpot_ms');
    if (slo !== undefined && slo !== null && slo !== '') {
      if (typeof slo !== 'number' || !Number.isFinite(slo) || slo <= 0) fail('slo_tpot_ms', `must be a positive number of ms, got ${JSON.stringify(slo)}`);
      req.sloTpotMs = slo as number;
    }
    const dep = raw.get('deposit_tokens');
    if (dep !== undefined && dep !== null && dep !== '') {
      if (typeof dep !== 'number' || !Number.isInteger(dep) || dep < 0) fail('deposit_tokens', `must be a non-negative integer number of tokens, got ${JSON.stringify(dep)}`);
      req.depositTokens = dep as number;
    }
    out.push(req);
  }
  if (out.length === 0) throw inputError(CODE, file, undefined, 'requests', 'the batch is empty (at least one request is needed)');
  return out;
}

export function parseBatchJson(file: string, text: string): PlanRequest[] {
  const root = parseJsonText(text, file, CODE);
  const lines = jsonValueLines(text);
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw inputError(CODE, file, 1, '(root)', 'expected an object {"requests": [...]}');
  const reqs = (root as Record<string, unknown>).requests;
  if (reqs === undefined) throw inputError(CODE, file, 1, 'requests', 'missing');
  if (!Array.isArray(reqs)) throw inputError(CODE, file, lines.get('requests'), 'requests', 'expected an array');
  const raws: RawRequest[] = reqs.map((r, i) => {
    const base = `requests[${i}]`;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw inputError(CODE, file, lines.get(base), base, 'expected an object');
    const o = r as Record<string, unknown>;
    return {
      keys: Object.keys(o),
      get: (f) => o[f],
      where: (f) => ({ line: lines.get(`${base}.${f}`) ?? lines.get(base), field: `${base}.${f}` }),
    };
  });
  return checkRequests(file, raws);
}

function csvNumber(v: string): number | string {
  if (v === '') return v;
  const n = Number(v);
  return Number.isFinite(n) ? n : v;
}

export function parseBatchCsv(file: string, text: string): PlanRequest[] {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parseCsv(text, { info: true, skip_empty_lines: true, comment: '#', trim: true, bom: true }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) {
    const line = (e as { lines?: number }).lines;
    throw inputError(CODE, file, line, '(csv)', `not valid CSV: ${(e as Error).message}`);
  }
  if (rows.length === 0) throw inputError(CODE, file, 1, '(header)', `missing; expected a header with ${BATCH_FIELDS.join(',')}`);
  const header = rows[0].record;
  const headerLine = rows[0].info.lines;
  for (const h of header) {
    if (!(BATCH_FIELDS as readonly string[]).includes(h)) throw inputError(CODE, file, headerLine, h || '(empty column)', `unknown column (expected ${BATCH_FIELDS.join(', ')})`);
  }
  for (const need of ['id', 'context_tokens']) {
    if (!header.includes(need)) throw inputError(CODE, file, headerLine, need, 'missing column in the header');
  }
  const raws: RawRequest[] = rows.slice(1).map(({ record, info }) => {
    if (record.length !== header.length) throw inputError(CODE, file, info.lines, '(row)', `expected ${header.length} columns, got ${record.length}`);
    const cell = (f: string): string | undefined => {
      const k = header.indexOf(f);
      return k < 0 ? undefined : record[k];
    };
    return {
      keys: header,
      get: (f) => {
        const v = cell(f);
        if (v === undefined) return undefined;
        return f === 'id' ? v : csvNumber(v);
      },
      where: (f) => ({ line: info.lines, field: f }),
    };
  });
  return checkRequests(file, raws);
}
