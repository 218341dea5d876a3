// Regenerates the sample traces: `node dist/bench/make-samples.js [DIR]` (default: traces/).
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { writeSampleTraces } from '../src/trace/make-samples.js';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');
const dir = resolve(process.argv[2] ?? resolve(repoRoot, 'traces'));
for (const path of writeSampleTraces(dir)) process.stdout.write(`wrote ${path}\n`);
