import type { Command } from 'commander';
import type { CliContext } from './context.js';

// Placeholder registration, replaced by the replay issue's implementation.
export function registerReplay(program: Command, _ctx: CliContext): void {
  program.command('replay').description('(not built yet)');
}
