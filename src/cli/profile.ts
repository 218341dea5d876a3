import type { Command } from 'commander';
import type { CliContext } from './context.js';

// Placeholder registration, replaced by the profile issue's implementation.
export function registerProfile(program: Command, _ctx: CliContext): void {
  program.command('profile').description('(not built yet)');
}
