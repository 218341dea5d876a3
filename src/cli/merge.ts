import type { Command } from 'commander';
import { ExitCode } from '../core/errors.js';
import { prepareOutputDir } from '../core/output-files.js';
import { redact } from '../core/redact.js';
import { checkAssertions, knownKeysOf, parseAssertion, validateAssertions } from '../replay/assertions.js';
import { mergeShardRuns } from '../replay/merge-runs.js';
import { writeRunOutputs } from '../replay/outputs.js';
import { loadRun } from '../replay/run-files.js';
import { formatRunSummary, runSummaryMarkdown } from '../ui/run-summary.js';
import type { CliContext } from './context.js';
import { addOptionTable, flag, optional, repeatable, type OptionsOf, type OptionTable } from './option-table.js';

const MERGE_OPTIONS = {
  out: optional('--out <dir>', 'write the merged result.json, requests.jsonl and summary.md into DIR'),
  assert: repeatable('--assert <expr>', 'CI gate on a numeric key of the merged result, repeatable, as for replay --assert; a failure exits 1'),
  json: flag('--json', 'print only the merged orbitflow.run/v1 result JSON'),
} satisfies OptionTable;

type MergeCliOptions = OptionsOf<typeof MERGE_OPTIONS>;

export function registerMerge(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('merge')
    .description('Merge the --out directories of the shards of one replay (replay --shard i/N --start-at MS) into one result, with every metric recomputed from all their per-request records, as if one client had sent everything.')
    .argument('<dirs...>', 'the shards\' replay --out directories (every shard of the run, each once)');
  addOptionTable(cmd, MERGE_OPTIONS).action(async (dirs: string[], opts: MergeCliOptions) => {
    const asserts = (opts.assert ?? []).map(parseAssertion);
    if (opts.out !== undefined) prepareOutputDir(opts.out, '--out');
    const runs = dirs.map((d) => loadRun(d, { needRecords: true, allowVllm: false }));
    const { result, records } = mergeShardRuns(runs);
    validateAssertions(asserts, knownKeysOf(result));
    result.assertions = checkAssertions(asserts, result);
    ctx.stdout.write(redact(opts.json ? `${JSON.stringify(result, null, 2)}\n` : formatRunSummary(result)));
    if (opts.out !== undefined) await writeRunOutputs(opts.out, result, records, runSummaryMarkdown(result));
    const merged = result.metadata.merged as { start_spread_ms: number };
    ctx.stderr.write(`orbitflow: merged ${dirs.length} shards (${result.issued} requests); the shards started ${merged.start_spread_ms.toFixed(2)} ms apart on their own clocks (clock offsets between machines add to this)\n`);
    const failed = result.assertions.filter((a) => !a.passed);
    for (const a of failed) ctx.stderr.write(`orbitflow: assertion failed: ${a.expr} (actual ${a.actual === null ? 'n/a' : a.actual})\n`);
    if (result.internal_error !== null) ctx.exitCode = ExitCode.internal;
    else if (result.degraded) {
      ctx.stderr.write(`orbitflow: run degraded: ${redact(result.degraded_reasons.join('; '))}\n`);
      ctx.exitCode = ExitCode.untrustworthy;
    } else if (failed.length > 0) ctx.exitCode = ExitCode.assertFailed;
  });
}
