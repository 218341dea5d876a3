import type { PolicyRow } from '../engine/compare-policies.js';
import { runSweepTask, type SweepTask } from './sweep-task.js';

// Worker-thread entry of the sweep pool (piscina): one task in, one comparison row out.
// The thread brings its own wall clock, which only times the simulation (simulation_wall_s).
export default function run(task: SweepTask): Promise<PolicyRow> {
  return runSweepTask(task, () => performance.now());
}
