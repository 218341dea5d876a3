import type { Command } from 'commander';
import type { CliContext } from './context.js';

// Placeholder registration, replaced by the plan issue's implementation.
export function registerPlan(program: Command, _ctx: CliContext): void {
  program.command('plan').description('(not built yet)');
}
