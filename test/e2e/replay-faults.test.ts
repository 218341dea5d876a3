import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startMockServer, type Behaviour, type MockServer } from '../replay/mock-server.js';

// `replay` against servers and files that misbehave on purpose: every run either gets what it
// asked for and exits 0, or says what went wrong, exits non-zero and keeps what it measured.

let server: MockServer;
let dir: string;
/** Per-test behaviour, keyed by the prompt length the test's trace uses. */
const byInput = new Map<number, Behaviour>();
const LAG = ['--max-schedule-lag-ms', '5000'];

before(async () => {
  server = await startMockServer((body) => {
    const n = Number(body.max_tokens);
    return byInput.get((body.prompt as unknown[]).length) ?? { kind: 'stream', gapsMs: Array.from({ length: n }, () => 2) };
  });
  dir = mkdtempSync(join(tmpdir(), 'of-replay-faults-'));
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function mooncake(name: string, rows: Array<[number, number, number]>): string {
  const file = join(dir, name);
  writeFileSync(file, rows.map(([ts, input, output]) => JSON.stringify({ timestamp: ts, input_length: input, output_length: output })).join('\n') + '\n');
  return file;
}

function sentSince(before: number): number {
  return server.served.length - before;
}

test('a bad row deep in the trace (1e8 tokens) is exit 2 naming its line, before anything is sent; --dry-run says the same', async () => {
  const rows: Array<[number, number, number]> = Array.from({ length: 3000 }, (_, i) => [i * 10, 20, 2]);
  rows[2499] = [24_990, 100_000_000, 2];
  const file = mooncake('deep-bad-row.jsonl', rows);
  const before = server.served.length;
  const [run, dry] = await Promise.all([runCli(['replay', file, '--endpoint', server.url, ...LAG]), runCli(['replay', file, '--dry-run'])]);
  for (const r of [run, dry]) {
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `orbitflow: ${file}:2500: input_length: 100000000 is over the 2097152-token limit of one request\n`);
  }
  assert.equal(sentSince(before), 0, 'nothing was sent');
});
