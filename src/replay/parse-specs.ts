import { usageError } from '../core/errors.js';
import type { SloSpec } from './metrics-slo.js';
import type { GoodputSpec } from './metrics-vllm.js';

function nonNegativeMs(option: string, name: string, raw: string): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < 0) throw usageError(option, `${name}: expected a non-negative number of ms, got '${raw}'`);
  return v;
}

/** `--slo ttft=500,tpot=50,tbt=100,e2el=20000` (ms; any subset). */
export function parseSlo(spec: string): SloSpec {
  const out: SloSpec = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(ttft|tpot|tbt|e2el)\s*[=:]\s*(.+)$/.exec(part);
    if (!m) throw usageError('--slo', `cannot parse '${part}': expected NAME=MS with NAME one of ttft, tpot, tbt, e2el`);
    const v = nonNegativeMs('--slo', m[1], m[2]);
    if (m[1] === 'ttft') out.ttftMs = v;
    else if (m[1] === 'tpot') out.tpotMs = v;
    else if (m[1] === 'tbt') out.tbtMs = v;
    else out.e2elMs = v;
  }
  if (Object.keys(out).length === 0) throw usageError('--slo', `no SLO in '${spec}'`);
  return out;
}

/** vLLM's `--goodput ttft:500 tpot:50 e2el:20000` (space- or comma-separated, ms). */
export function parseGoodput(values: readonly string[]): GoodputSpec {
  const out: GoodputSpec = {};
  for (const part of values.flatMap((v) => v.split(/[\s,]+/)).filter(Boolean)) {
    const m = /^([a-z0-9_]+)[:=](.*)$/.exec(part);
    if (!m) throw usageError('--goodput', `cannot parse '${part}': expected NAME:MS pairs, e.g. ttft:500 tpot:50`);
    const v = nonNegativeMs('--goodput', m[1], m[2]);
    if (m[1] === 'ttft') out.ttftMs = v;
    else if (m[1] === 'tpot') out.tpotMs = v;
    else if (m[1] === 'e2el') out.e2elMs = v;
    else throw usageError('--goodput', `unknown metric '${m[1]}': one of ttft, tpot, e2el (vLLM's goodput)`);
  }
  if (Object.keys(out).length === 0) throw usageError('--goodput', 'no NAME:MS pair given');
  return out;
}

/** `--percentiles 50,90,99` → sorted unique numbers in [0, 100]. */
export function parsePercentiles(spec: string): number[] {
  const out = new Set<number>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const v = Number(part);
    if (!Number.isFinite(v) || v < 0 || v > 100) throw usageError('--percentiles', `expected numbers in [0, 100], got '${part}'`);
    out.add(v);
  }
  if (out.size === 0) throw usageError('--percentiles', `no percentile in '${spec}'`);
  return [...out].sort((a, b) => a - b);
}
