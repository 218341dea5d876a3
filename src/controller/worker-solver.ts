import { Worker } from 'node:worker_threads';
import type { WindowPlan } from '../planner/window-plan.js';
import type { SolverSetup } from './inline-solver.js';
import type { BatchSolver, SolveRequest } from './types.js';

/** A BatchSolver backed by one worker thread; solves are queued in order. */
export function createWorkerSolver(setup: SolverSetup): BatchSolver {
  const worker = new Worker(new URL('./solver-worker.js', import.meta.url), { workerData: { model: setup.model, profile: setup.profile, tp: setup.tp } });
  worker.unref();
  let nextId = 0;
  const waiting = new Map<number, { resolve: (p: WindowPlan) => void; reject: (e: Error) => void }>();
  worker.on('message', (msg: { id: number; plan?: WindowPlan; error?: string }) => {
    const w = waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.plan) w.resolve(msg.plan);
    else w.reject(new Error(msg.error ?? 'solver failed'));
  });
  worker.on('error', (e) => {
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  });
  return {
    solve(request: SolveRequest): Promise<WindowPlan> {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, request });
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}
