import { usageError } from '../core/errors.js';
import type { AssertionOutcome } from './run-result.js';

export type AssertOp = '<' | '<=' | '>' | '>=' | '==';

/** One `--assert KEY OP NUMBER`, e.g. `p99_ttft_ms<=500`, `slo_attainment.tpot>=0.9`. */
export interface Assertion {
  expr: string;
  path: string[];
  op: AssertOp;
  threshold: number;
}

/** The pieces of an assertion, shared with `orbitflow compare`'s `KEY OP base * NUMBER`. */
export const KEY_SOURCE = '[A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z0-9_]+)*';
export const OP_SOURCE = '<=|>=|==|<|>';
export const NUMBER_SOURCE = '[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?';
const ASSERT_RE = new RegExp(`^\\s*(${KEY_SOURCE})\\s*(${OP_SOURCE})\\s*(${NUMBER_SOURCE})\\s*$`);

export function parseAssertion(expr: string): Assertion {
  const m = ASSERT_RE.exec(expr);
  if (!m) throw usageError('--assert', `cannot parse '${expr}': expected KEY OP NUMBER with OP one of < <= > >= ==`, "e.g. --assert 'p99_ttft_ms<=500'");
  return { expr: expr.trim(), path: m[1].split('.'), op: m[2] as AssertOp, threshold: Number(m[3]) };
}

/** The value at `path`; null when a section on the way is null (not computed), undefined when absent. */
export function lookup(obj: unknown, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const k of path) {
    if (cur === null) return null;
    if (typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** Every dotted path to a number (or null, a number not computed with these options) in `obj`. */
export function numericKeyPaths(obj: unknown, prefix = ''): Array<{ key: string; value: number | null }> {
  const out: Array<{ key: string; value: number | null }> = [];
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return out;
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number' || v === null) out.push({ key, value: v as number | null });
    else if (typeof v === 'object' && !Array.isArray(v)) out.push(...numericKeyPaths(v, key));
  }
  return out;
}

/** A numeric key an assertion may name; `hint` is set when it is null with these options, and says what computes it. */
export interface KnownKey {
  key: string;
  hint?: string;
}

/** The numeric keys of a result that exists (a merged run, a validation template), metadata left out. */
export function knownKeysOf(result: unknown): KnownKey[] {
  return numericKeyPaths(result)
    .filter((k) => !k.key.startsWith('metadata.'))
    .map((k) => (k.value === null ? { key: k.key, hint: 'see result.json for the keys a run reports' } : { key: k.key }));
}

/**
 * Checked BEFORE the run against the keys a run of these options reports (k6's thresholds
 * parser against its metric registry): an unknown key, or one these options leave null
 * (`request_goodput` without --goodput), is a usage error (exit 2).
 */
export function validateAssertions(asserts: readonly Assertion[], known: readonly KnownKey[]): void {
  const byKey = new Map(known.map((k) => [k.key, k]));
  for (const a of asserts) {
    const key = a.path.join('.');
    const k = byKey.get(key);
    if (k === undefined) {
      const near = known.filter((c) => c.hint === undefined && similar(c.key, key)).slice(0, 6).map((c) => c.key);
      throw usageError('--assert', `unknown numeric key '${key}' in '${a.expr}'`, near.length > 0 ? `did you mean: ${near.join(', ')}` : 'keys are result.json paths, e.g. p99_ttft_ms, slo_attainment.tpot, error_summary.rate');
    }
    if (k.hint !== undefined) throw usageError('--assert', `'${key}' is not computed with these options (in '${a.expr}')`, k.hint);
  }
}

function similar(a: string, b: string): boolean {
  const parts = b.split(/[._]/).filter((p) => p.length > 1);
  return parts.some((p) => a.includes(p));
}

const VLLM_LATENCY_KEY = /^(?:mean|median|std|p[0-9.]+)_(ttft_content|ttft|tpot|itl|e2el)_ms$/;

/**
 * Whether the value at `path` is a statistic over no samples: a latency of 0 from no successful
 * request (vLLM's convention for an empty set) is no measurement, and must not pass a gate.
 */
export function overNoSamples(result: unknown, path: readonly string[]): boolean {
  const samples = lookup(result, ['latency_samples']) as Record<string, number> | undefined | null;
  const flat = path.length === 1 ? VLLM_LATENCY_KEY.exec(path[0]) : null;
  if (flat && samples) return samples[flat[1]] === 0;
  // A distribution object (tbt_ms, schedule_lag_ms, …) carries its own count.
  if (path.length === 2 && path[1] !== 'count') {
    const count = lookup(result, [path[0], 'count']);
    return count === 0;
  }
  return false;
}

export function checkAssertions(asserts: readonly Assertion[], result: unknown): AssertionOutcome[] {
  return asserts.map((a) => {
    const v = lookup(result, a.path);
    const actual = typeof v === 'number' && Number.isFinite(v) && !overNoSamples(result, a.path) ? v : null;
    return { expr: a.expr, actual, passed: actual !== null && holds(actual, a.op, a.threshold) };
  });
}

export function holds(actual: number, op: AssertOp, threshold: number): boolean {
  switch (op) {
    case '<':
      return actual < threshold;
    case '<=':
      return actual <= threshold;
    case '>':
      return actual > threshold;
    case '>=':
      return actual >= threshold;
    case '==':
      return actual === threshold;
  }
}
