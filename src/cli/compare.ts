import { InvalidArgumentError, type Command } from 'commander';
import { ExitCode } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { compareRuns, parseCompareAssertion } from '../replay/compare-runs.js';
import { formatComparison, formatNumber as fmt } from '../ui/run-comparison.js';
import { loadRun } from '../replay/run-files.js';
import type { CliContext } from './context.js';
import { addOptionTable, flag, repeatable, withDefault, type OptionsOf, type OptionTable } from './option-table.js';
import { nonNegativeInt, positiveInt } from './parse-options.js';

function openInterval(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n >= 1) throw new InvalidArgumentError(`expected a number strictly between 0 and 1, got '${v}'`);
  return n;
}

const COMPARE_OPTIONS = {
  assert: repeatable('--assert <expr>', "gate, repeatable: KEY OP base * NUMBER (or base, base + NUMBER, base - NUMBER, NUMBER), e.g. 'p99_ttft_ms <= base * 1.05'; fails (exit 1) only when the whole interval is on the failing side"),
  confidence: withDefault('--confidence <c>', 'confidence of the bootstrap intervals', 0.95, { parse: openInterval }),
  resamples: withDefault('--resamples <n>', 'bootstrap resamples per gate', 1000, { parse: positiveInt }),
  seed: withDefault('--seed <n>', 'seed of the resampling (the same inputs and seed give the same intervals)', 0, { parse: nonNegativeInt }),
  json: flag('--json', 'print the orbitflow.compare/v1 JSON instead of the table'),
} satisfies OptionTable;

type CompareCliOptions = OptionsOf<typeof COMPARE_OPTIONS>;

export function registerCompare(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('compare')
    .description('Compare two replays side by side (result files, vLLM --save-result files, or replay --out directories) and gate NEW against BASE with bootstrap confidence intervals from the per-request records, so a gate fails only on a real change.')
    .argument('<base>', 'the baseline run: a replay --out directory (per-request records: intervals) or a result.json')
    .argument('<new>', 'the run to judge, the same kinds');
  addOptionTable(cmd, COMPARE_OPTIONS).action(async (basePath: string, newPath: string, opts: CompareCliOptions) => {
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
