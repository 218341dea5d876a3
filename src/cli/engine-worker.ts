import { parentPort, workerData } from 'node:worker_threads';
import { startEngineFromInput, type EngineWorkerInput } from './replay-engine.js';

// Worker-thread entry of the embedded engine (see startEmbeddedEngine): start, report the URL,
// close on 'close'.
const input = workerData as EngineWorkerInput;
startEngineFromInput(input).then(
  (server) => {
    parentPort!.postMessage({ url: server.url, budgetBlocks: server.core.budgetBlocks, maxNumSeqs: server.core.maxNumSeqs });
    parentPort!.on('message', (m) => {
      if (m === 'close') void server.close().finally(() => process.exit(0));
    });
  },
  (e: Error) => {
    parentPort!.postMessage({ error: e.message });
    process.exit(1);
  },
);
