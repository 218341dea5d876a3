import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { startMockServer, type MockServer } from '../replay/mock-server.js';

let fast: MockServer;
let slow: MockServer;
let dir: string;
const LAG = ['--max-schedule-lag-ms', '5000'];

before(async () => {
  // The same streams, the first token 10 ms or 60 ms after the request.
  const stream = (firstMs: number) => (body: Record<string, unknown>) => ({ kind: 'stream' as const, gapsMs: Array.from({ length: Number(body.max_tokens) }, (_, i) => (i === 0 ? firstMs : 5)) });
  fast = await startMockServer(stream(10));
  slow = await startMockServer(stream(60));
  dir = mkdtempSync(join(tmpdir(), 'orbitflow-compare-'));
  const trace = join(dir, 'trace.jsonl');
  writeFileSync(trace, Array.from({ length: 30 }, (_, i) => JSON.stringify({ timestamp: i * 15, input_length: 32, output_length: 4, hash_ids: [i] })).join('\n') + '\n');
  const runs = await Promise.all([
    runCli(['replay', trace, '--endpoint', fast.url, '--out', join(dir, 'base'), '--save-detailed', ...LAG]),
    runCli(['replay', trace, '--endpoint', slow.url, '--out', join(dir, 'slow'), ...LAG]),
  ]);
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await Promise.all([fast.close(), slow.close()]);
  rmSync(dir, { recursive: true, force: true });
});

test('compare BASE NEW: a real regression fails its gate (exit 1); a bound it keeps passes (exit 0); the table lists the shared metrics', async () => {
  const base = join(dir, 'base');
  const bad = await runCli(['compare', base, join(dir, 'slow'), '--assert', 'p99_ttft_ms <= base * 1.05', '--assert', 'completed >= base']);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stdout, /^mean_ttft_ms\s+\d+\.\d+\s+\d+\.\d+\s+\+\d+\.\d+\s+\+\d+\.\d %$/m);
  assert.match(bad.stdout, /FAIL p99_ttft_ms <= base \* 1\.05: .*new − bound in \[\d/);
  assert.match(bad.stdout, /PASS completed >= base/);
  assert.match(bad.stderr, /^orbitflow: assertion failed: p99_ttft_ms <= base \* 1\.05/);
  const ok = await runCli(['compare', base, join(dir, 'slow'), '--json', '--assert', 'mean_ttft_ms <= base + 200']);
  assert.equal(ok.code, 0, ok.stderr);
  const cmp = JSON.parse(ok.stdout);
  assert.equal(cmp.schema, 'orbitflow.compare/v1');
  assert.equal(cmp.assertions[0].basis, 'bootstrap');
  assert.ok(cmp.metrics.find((m: { key: string }) => m.key === 'mean_ttft_ms').change > 30);
});

test('compare reads result files too, vLLM\'s own --save-result among them (intervals from its per-request lists)', async () => {
  const vllm = join(REPO_ROOT, 'test/fixtures/vllm-save-result.json');
  const r = await runCli(['compare', vllm, join(dir, 'base', 'result.json'), '--json', '--assert', 'mean_ttft_ms <= base * 1000', '--assert', 'duration <= base * 100']);
  assert.equal(r.code, 0, r.stderr);
  const cmp = JSON.parse(r.stdout);
  assert.deepEqual(cmp.assertions.map((a: { basis: string }) => a.basis), ['bootstrap', 'point']);
});

test('compare bad input: an unknown metric, an expression it cannot read, a path that is not a run: one line, exit 2', async () => {
  const base = join(dir, 'base');
  const cases: Array<[string[], RegExp]> = [
    [[base, base, '--assert', 'p99_ttft_msec <= base'], /^orbitflow: --assert: unknown metric 'p99_ttft_msec' in 'p99_ttft_msec <= base'/],
    [[base, base, '--assert', 'p99_ttft_ms <= base ** 2'], /^orbitflow: --assert: cannot parse 'p99_ttft_ms <= base \*\* 2'/],
    [[base, join(dir, 'nowhere')], /^orbitflow: .*nowhere: no such file or directory$/],
    [[base, dir], /^orbitflow: .*: not a replay --out directory \(no result\.json\)$/],
  ];
  for (const [args, msg] of cases) {
    const r = await runCli(['compare', ...args]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], msg);
  }
});
