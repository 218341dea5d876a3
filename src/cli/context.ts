import type { MonotonicMs } from '../core/solve-limit.js';

/**
 * Process state handed to every command once, built in main(): the only place that reads
 * process globals. Commands write through it and set `exitCode`; only main() exits.
 */
export interface CliContext {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  argv: readonly string[];
  /** Set by a command to a non-zero code (assert failed, degraded run, …). */
  exitCode: number;
  /** Live terminal view allowed: stdout is a TTY and CI is unset. */
  interactive: boolean;
  /**
   * The one wall clock (monotonic ms): what live runs time and measure with. Virtual time never
   * decides anything by it; it only measures (fields named `*_wall_*`).
   */
  clockMs: MonotonicMs;
  /**
   * Registered by long runs: called on SIGINT/SIGTERM to write partial results; resolves when done,
   * to the exit code (default 130; a server that shuts down cleanly resolves to 0).
   */
  onInterrupt?: () => Promise<number | void>;
  /**
   * Set while results are being finished and written: a second signal then waits for it (and
   * says so), a third exits at once, removing half-written temp files, and prints `lost`.
   */
  finishing?: { doing: string; lost: string } | null;
}

export function out(ctx: CliContext, text: string): void {
  ctx.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function err(ctx: CliContext, text: string): void {
  ctx.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}
