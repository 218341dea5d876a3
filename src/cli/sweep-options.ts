import { usageError } from '../core/errors.js';
import { TRANSFORM_BOUNDS } from '../trace/options.js';
import { isSweepKey, SWEEP_AXES, SWEEP_KEYS, type SweepAxis } from '../engine/sweep-axes.js';
import { TARGET_ALIASES, TARGET_METRICS, TARGET_OPS, type TargetClause, type TargetMetric, type TargetOp } from '../engine/sweep-target.js';

/** The most axes a sweep takes: one is a curve per policy, two are a grid. */
export const MAX_SWEEP_AXES = 2;

function sweepValue(key: string, text: string): number {
  const t = text.trim();
  const n = t === '' ? Number.NaN : Number(t);
  if (!Number.isFinite(n)) throw usageError('--sweep', `${key}: '${text}' is not a number`);
  if (n <= 0) throw usageError('--sweep', `${key}: values must be > 0, got ${t}`);
  if (SWEEP_AXES[key as keyof typeof SWEEP_AXES].integer && !Number.isInteger(n)) throw usageError('--sweep', `${key}: values must be whole numbers, got ${t}`);
  if (key === 'rate-scale' && n > TRANSFORM_BOUNDS.rateScale.max) throw usageError('--sweep', `rate-scale: at most ${TRANSFORM_BOUNDS.rateScale.max}, got ${t}`);
  return n;
}

/** `--sweep KEY=v1,v2,…` (repeatable): the axes, each list ascending. */
export function parseSweeps(specs: readonly string[]): SweepAxis[] {
  const axes: SweepAxis[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq < 0) throw usageError('--sweep', `expected KEY=v1,v2,… (KEY one of ${SWEEP_KEYS.join(', ')}), got '${spec}'`);
    const key = spec.slice(0, eq).trim();
    if (!isSweepKey(key)) throw usageError('--sweep', `unknown key '${key}'; expected one of ${SWEEP_KEYS.join(', ')}`);
    if (axes.some((a) => a.key === key)) throw usageError('--sweep', `${key} is swept twice; give its values in one list`);
    const list = spec.slice(eq + 1);
    if (list.trim() === '') throw usageError('--sweep', `${key}: the list of values is empty`);
    const values = list.split(',').map((v) => sweepValue(key, v));
    const seen = new Set<number>();
    for (const v of values) {
      if (seen.has(v)) throw usageError('--sweep', `${key}: ${v} is listed twice`);
      seen.add(v);
    }
    axes.push({ key, values: values.sort((a, b) => a - b) });
  }
  if (axes.length > MAX_SWEEP_AXES) throw usageError('--sweep', `at most ${MAX_SWEEP_AXES} keys (a grid); got ${axes.map((a) => a.key).join(', ')}`);
  return axes;
}

function targetMetric(name: string): TargetMetric | undefined {
  if (Object.hasOwn(TARGET_ALIASES, name)) return TARGET_ALIASES[name];
  return (TARGET_METRICS as readonly string[]).includes(name) ? (name as TargetMetric) : undefined;
}

/** `--target 'tbt>=0.9,tpot>=0.9'`: every clause must hold. */
export function parseTarget(text: string): TargetClause[] {
  if (text.trim() === '') throw usageError('--target', "empty; expected clauses such as 'tbt>=0.9,tpot>=0.9'");
  return text.split(',').map((part) => {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*(>=|<=|>|<)\s*(\S+)\s*$/.exec(part);
    if (!m) throw usageError('--target', `expected METRIC OP NUMBER (OP one of ${TARGET_OPS.join(' ')}), got '${part}'`);
    const metric = targetMetric(m[1]);
    if (!metric) {
      throw usageError('--target', `unknown metric '${m[1]}'; expected ${Object.keys(TARGET_ALIASES).join(', ')} or one of ${TARGET_METRICS.join(', ')}`);
    }
    const threshold = Number(m[3]);
    if (!Number.isFinite(threshold)) throw usageError('--target', `${m[1]}: '${m[3]}' is not a number`);
    return { metric, op: m[2] as TargetOp, threshold };
  });
}
