import { Command, CommanderError } from 'commander';
import { ExitCode, OrbitflowError } from '../core/errors.js';
import { removeUnfinishedSync } from '../core/output-files.js';
import { redact } from '../core/redact.js';
import { VERSION } from '../core/version.js';
import type { CliContext } from './context.js';
import { registerPlan } from './plan.js';
import { registerReplay } from './replay.js';
import { registerEngine } from './engine.js';
import { registerProfile } from './profile.js';
import { registerMerge } from './merge.js';
import { registerCompare } from './compare.js';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('orbitflow')
    .description('SLO-aware KV-cache placement for long-context LLM serving: profile a GPU, plan per-layer KV placements, replay production traces with a feedback controller.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      outputError: (s, write) => write(`orbitflow: ${s.replace(/^error: /, '')}`),
    });
  // .command() copies the settings above into each subcommand (exitOverride, output).
  registerProfile(program, ctx);
  registerPlan(program, ctx);
  registerReplay(program, ctx);
  registerEngine(program, ctx);
  registerMerge(program, ctx);
  registerCompare(program, ctx);
  return program;
}

function report(ctx: CliContext, e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return ExitCode.ok;
    // commander already printed its message.
    return ExitCode.badInput;
  }
  if (OrbitflowError.is(e)) {
    ctx.stderr.write(`orbitflow: ${redact(e.message)}\n`);
    if (e.hint) ctx.stderr.write(`  hint: ${redact(e.hint)}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  ctx.stderr.write(`orbitflow: internal error (please report it, with the command line): ${redact(err?.message ?? String(e))}\n`);
  if (ctx.env.ORBITFLOW_DEBUG) ctx.stderr.write(`${redact(err?.stack ?? '')}\n`);
  else ctx.stderr.write('  hint: ORBITFLOW_DEBUG=1 prints the stack trace\n');
  return ExitCode.internal;
}

/** How long a crash may spend saving partial results before the process exits anyway. */
const CRASH_SAVE_MS = 10_000;

export async function main(argv: readonly string[]): Promise<void> {
  const ctx: CliContext = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    argv,
    exitCode: 0,
    interactive: Boolean(process.stdout.isTTY) && !process.env.CI,
    clockMs: () => performance.now(),
  };
  let interrupted = false;
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    if (interrupted) {
      // A second signal waits for results being written; a third (or a second with nothing to wait for) exits now.
      const f = ctx.finishing;
      if (f && signals === 2) {
        ctx.stderr.write(`orbitflow: still ${f.doing}; waiting for it (one more signal aborts, and ${f.lost} would be lost)\n`);
        return;
      }
      if (f) {
        removeUnfinishedSync();
        ctx.stderr.write(`orbitflow: aborted: ${f.lost} not written\n`);
      }
      process.exit(ExitCode.interrupted);
    }
    interrupted = true;
    const finish = ctx.onInterrupt ? ctx.onInterrupt() : Promise.resolve(undefined);
    finish.then(
      (code) => process.exit(code ?? ExitCode.interrupted),
      (e) => {
        report(ctx, e);
        process.exit(ExitCode.interrupted);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A bug that escapes every handler: one line, no stack trace, the partial results if a run is on
  // (bounded: the state may be broken), exit 70.
  const onCrash = (e: unknown): void => {
    report(ctx, e);
    if (interrupted || !ctx.onInterrupt) process.exit(ExitCode.internal);
    interrupted = true;
    const bound = new Promise((r) => setTimeout(r, CRASH_SAVE_MS).unref());
    void Promise.race([ctx.onInterrupt().catch(() => undefined), bound]).finally(() => process.exit(ExitCode.internal));
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  let code: number;
  try {
    await buildProgram(ctx).parseAsync([...argv]);
    code = ctx.exitCode;
  } catch (e) {
    code = report(ctx, e);
  }
  if (interrupted) return; // the signal handler exits once partial results are written
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  // Let stdout drain before exiting (large --json output on a pipe).
  process.stdout.write('', () => process.exit(code));
}
