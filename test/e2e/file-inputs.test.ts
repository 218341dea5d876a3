import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliResult } from '../helpers/cli.js';
import { PROFILES, REPO_ROOT } from '../helpers/paths.js';

// Every file input goes through one gate (src/core/input-file.ts): a FIFO, a device or a
// directory is refused at once with exit 2 instead of blocking the process (a FIFO never
// opened for writing blocks a plain open forever, and the signal handlers with it).

const PROFILE = join(PROFILES, 'a6000-llama-3.1-8b.published-fit.json');
const BATCH = join(REPO_ROOT, 'traces/batches/mooncake-16.json');
let dir: string;
let fifo: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'of-file-inputs-'));
  fifo = join(dir, 'input.fifo');
  execFileSync('mkfifo', [fifo]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function refused(r: CliResult, file: string, what: string, reason: RegExp): void {
  assert.equal(r.code, 2, `exit ${r.code} ${r.signal}: ${r.stderr}`);
  assert.equal(r.signal, null, 'it exited by itself, it was not killed');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0].startsWith(`orbitflow: ${file}: cannot read ${what}: `), lines[0]);
  assert.match(lines[0], reason);
  assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
}

const plan = (...args: string[]): string[] => ['plan', '--model', 'llama-3.1-8b', '--profile', PROFILE, '--gpu-kv-gib', '8', '--batch', BATCH, ...args];
const FIFO = /a FIFO, not a regular file$/;
const DEVICE = /a device, not a regular file$/;

test('plan: a FIFO or a device as --batch, --profile or --model-config is refused at once with exit 2', async () => {
  const opts = { timeoutMs: 15_000 };
  const runs = await Promise.all([
    runCli(['plan', '--model', 'llama-3.1-8b', '--profile', PROFILE, '--gpu-kv-gib', '8', '--batch', fifo], opts),
    runCli(['plan', '--model', 'llama-3.1-8b', '--profile', PROFILE, '--gpu-kv-gib', '8', '--batch', '/dev/zero'], opts),
    runCli(['plan', '--model', 'llama-3.1-8b', '--profile', fifo, '--gpu-kv-gib', '8', '--batch', BATCH], opts),
    runCli(['plan', '--model-config', '/dev/zero', '--profile', PROFILE, '--gpu-kv-gib', '8', '--batch', BATCH], opts),
    runCli(['plan', '--model-config', fifo, '--profile', PROFILE, '--gpu-kv-gib', '8', '--batch', BATCH], opts),
  ]);
  refused(runs[0], fifo, 'batch file', FIFO);
  refused(runs[1], '/dev/zero', 'batch file', DEVICE);
  refused(runs[2], fifo, 'profile', FIFO);
  refused(runs[3], '/dev/zero', 'model config', DEVICE);
  refused(runs[4], fifo, 'model config', FIFO);
});

test('engine and replay: a FIFO as --profile, a device as a trace, are refused at once with exit 2', async () => {
  const opts = { timeoutMs: 15_000 };
  const runs = await Promise.all([
    runCli(['engine', '--profile', fifo, '--gpu-kv-gib', '1'], opts),
    runCli(['engine', '--profile', PROFILE, '--model-config', '/dev/zero', '--gpu-kv-gib', '1'], opts),
    runCli(['replay', 'traces/sample-azure-conv.csv', '--engine-profile', fifo], opts),
    runCli(['replay', '/dev/zero', '--dry-run'], opts),
    runCli(['replay', fifo, '--dry-run'], opts),
  ]);
  refused(runs[0], fifo, 'profile', FIFO);
  refused(runs[1], '/dev/zero', 'model config', DEVICE);
  refused(runs[2], fifo, 'profile', FIFO);
  refused(runs[3], '/dev/zero', 'trace', DEVICE);
  refused(runs[4], fifo, 'trace', FIFO);
});

test('a file over the size cap is refused before it is read; a /proc file is read within the cap', async () => {
  const big = join(dir, 'big.json');
  // Sparse: 65 MiB on the size, no blocks on disk.
  writeFileSync(big, '');
  execFileSync('truncate', ['-s', '65M', big]);
  const r = await runCli(plan().slice(0, -1).concat(big));
  refused(r, big, 'batch file', /65\.0 MiB, over the 64 MiB limit$/);
  // /proc files report size 0 but have content: it is read (and is not a batch file).
  const p = await runCli(plan().slice(0, -1).concat('/proc/self/status'));
  assert.equal(p.code, 2);
  assert.match(p.stderr, /^orbitflow: \/proc\/self\/status:\d+: /);
});

test('a batch file with a UTF-8 byte-order mark plans like one without', async () => {
  const bom = join(dir, 'bom.json');
  writeFileSync(bom, `\uFEFF${readFileSync(BATCH, 'utf8')}`);
  const bomCsv = join(dir, 'bom.csv');
  writeFileSync(bomCsv, `\uFEFF${readFileSync(join(REPO_ROOT, 'traces/batches/mooncake-16.csv'), 'utf8')}`);
  const [plain, withBom, withBomCsv] = await Promise.all([runCli(plan('--json')), runCli([...plan('--json').slice(0, 8), bom, '--json']), runCli([...plan('--json').slice(0, 8), bomCsv, '--json'])]);
  for (const r of [plain, withBom, withBomCsv]) assert.equal(r.code, 0, r.stderr);
  const placements = (r: CliResult): unknown => JSON.parse(r.stdout).plan.placements;
  assert.deepEqual(placements(withBom), placements(plain));
  assert.deepEqual(placements(withBomCsv), placements(plain));
});

test('profile --probe-output goes through the same gate: a FIFO is refused at once with exit 2', async () => {
  const r = await runCli(['profile', '--probe-output', fifo], { timeoutMs: 15_000 });
  assert.equal(r.code, 2, `exit ${r.code} ${r.signal}: ${r.stderr}`);
  assert.equal(r.signal, null, 'it exited by itself, it was not killed');
  const last = r.stderr.trimEnd().split('\n').at(-1)!;
  assert.equal(last, `orbitflow: ${fifo}: cannot read probe output: a FIFO, not a regular file`);
  assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
});

test('plan --trace --out that cannot be created is exit 2 before anything is simulated', async () => {
  const r = await runCli(['plan', '--trace', join(REPO_ROOT, 'traces/sample-mooncake.jsonl'), '--profile', PROFILE, '--gpu-kv-gib', '2', '--out', '/proc/x'], { timeoutMs: 15_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^orbitflow: --out \/proc\/x: cannot create \/proc\/x/m);
  assert.doesNotMatch(r.stderr, /simulating/);
});
