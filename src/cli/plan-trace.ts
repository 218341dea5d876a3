import type { CliContext } from './context.js';

// Placeholder: `plan --trace` (virtual-time simulation of a trace under each policy) is built with
// the reference engine. plan.ts calls this when --trace is given.
export async function runPlanTrace(_opts: Record<string, unknown>, _ctx: CliContext): Promise<void> {
  throw new Error('plan --trace is not built yet');
}
