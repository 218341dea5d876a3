import type { Command } from 'commander';
import type { CliContext } from './context.js';

// Placeholder registration, replaced by the engine issue's implementation.
export function registerEngine(program: Command, _ctx: CliContext): void {
  program.command('engine').description('(not built yet)');
}
