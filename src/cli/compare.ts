import { InvalidArgumentError, type Command } from 'commander';
import { ExitCode } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { compareRuns, parseCompareAssertion, type Comparison } from '../replay/compare-runs.js';
import { loadRun } from '../replay/run-files.js';
import type { CliContext } from './context.js';
import { collect, nonNegativeInt, positiveInt } from './parse-options.js';

interface CompareCliOptions {
  assert?: string[];
  confidence: number;
  resamples: number;
  seed: number;
  json: boolean;
}

function openInterval(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n >= 1) throw new InvalidArgumentError(`expected a number strictly between 0 and 1, got '${v}'`);
  return n;
}

export function registerCompare(program: Command, ctx: CliContext): void {
  program
    .command('compare')
    .description('Compare two replays side by side (result files, vLLM --save-result files, or replay --out directories) and gate NEW against BASE with bootstrap confidence intervals from the per-request records, so a gate fails only on a real change.')
    .argument('<base>', 'the baseline run: a replay --out directory (per-request records: intervals) or a result.json')
    .argument('<new>', 'the run to judge, the same kinds')
    .option('--assert <expr>', "gate, repeatable: KEY OP base * NUMBER (or base, base + NUMBER, base - NUMBER, NUMBER), e.g. 'p99_ttft_ms <= base * 1.05'; fails (exit 1) only when the whole interval is on the failing side", collect)
    .option('--confidence <c>', 'confidence of the bootstrap intervals', openInterval, 0.95)
    .option('--resamples <n>', 'bootstrap resamples per gate', positiveInt, 1000)
    .option('--seed <n>', 'seed of the resampling (the same inputs and seed give the same intervals)', nonNegativeInt, 0)
    .option('--json', 'print the orbitflow.compare/v1 JSON instead of the table', false)
    .action(async (basePath: string, newPath: string, opts: CompareCliOptions) => {
      const asserts = (opts.assert ?? []).map(parseCompareAssertion);
      const base = loadRun(basePath, { needRecords: false, allowVllm: true });
      const next = loadRun(newPath, { needRecords: false, allowVllm: true });
      const cmp = compareRuns(base, next, asserts, { confidence: opts.confidence, resamples: opts.resamples, seed: opts.seed });
      ctx.stdout.write(redact(opts.json ? `${JSON.stringify(cmp, null, 2)}\n` : formatComparison(cmp)));
      const failed = cmp.assertions.filter((a) => !a.passed);
      for (const a of failed) ctx.stderr.write(`orbitflow: assertion failed: ${a.expr} (new ${fmt(a.new)}, bound ${fmt(a.bound)}${a.ci ? `, new − bound in [${fmt(a.ci[0])}, ${fmt(a.ci[1])}] at ${opts.confidence}` : ''})\n`);
      ctx.exitCode = failed.length > 0 ? ExitCode.assertFailed : ExitCode.ok;
    });
}

function fmt(x: number | null): string {
  if (x === null) return 'n/a';
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(3) : x.toPrecision(3);
}

function pct(x: number | null): string {
  return x === null ? '' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`;
}

export function formatComparison(c: Comparison): string {
  const head = ['metric', 'base', 'new', 'change', ''];
  const body = c.metrics.map((m) => [m.key, fmt(m.base), fmt(m.new), m.change === null ? '' : `${m.change >= 0 ? '+' : ''}${fmt(m.change)}`, pct(m.change_rel)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ').trimEnd();
  const out = [`orbitflow compare: BASE ${c.base}  →  NEW ${c.new}`, '', line(head), ...body.map(line)];
  if (c.assertions.length > 0) {
    out.push('', `Gates (bootstrap, ${c.resamples} resamples, ${Math.round(c.confidence * 1000) / 10} % intervals, seed ${c.seed}):`);
    for (const a of c.assertions) {
      const ci = a.ci ? `new − bound in [${fmt(a.ci[0])}, ${fmt(a.ci[1])}]` : 'point values';
      out.push(`  ${a.passed ? 'PASS' : 'FAIL'} ${a.expr}: new ${fmt(a.new)}, bound ${fmt(a.bound)} (base ${fmt(a.base)}); ${ci}${a.note ? ` — ${a.note}` : ''}`);
    }
  }
  return `${out.join('\n')}\n`;
}
