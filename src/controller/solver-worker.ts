import { parentPort, workerData } from 'node:worker_threads';
import { solveOnce, type SolverSetup } from './inline-solver.js';
import type { SolveRequest } from './types.js';

// Worker-thread entry: the live controller solves here so the replay's event loop (token
// timestamps, pacing) never waits on the ILP.
// The thread's entry point is its own process boundary: it brings the wall clock its solves are timed by.
const setup: SolverSetup = { ...(workerData as SolverSetup), clockMs: () => performance.now() };
parentPort!.on('message', (msg: { id: number; request: SolveRequest }) => {
  solveOnce(setup, msg.request).then(
    (plan) => parentPort!.postMessage({ id: msg.id, plan }),
    (e: Error) => parentPort!.postMessage({ id: msg.id, error: e.message }),
  );
});
