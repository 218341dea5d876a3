import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { runCli } from '../helpers/cli.js';
import { http, sseData } from '../engine/http-client.js';
import { writeTestProfile } from '../engine/fixtures.js';

test('orbitflow engine: starts, prints its URL, serves a streaming completion, exits 0 on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'of-engine-e2e-'));
  try {
    const profile = writeTestProfile(dir);
    let child: ChildProcess | undefined;
    let stdout = '';
    let urlFound: (u: string) => void = () => undefined;
    const url = new Promise<string>((resolve) => (urlFound = resolve));
    const run = runCli(['engine', '--profile', profile, '--model', 'llama-3.1-8b', '--gpu-kv-gib', '2', '--policy', 'gpu-only', '--port', '0', '--time-scale', '10'], {
      timeoutMs: 30_000,
      onSpawn: (_pid, c) => {
        child = c;
        c.stdout!.on('data', (d: Buffer) => {
          stdout += d.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
          if (m) urlFound(m[1]);
        });
      },
    });
    const base = await Promise.race([url, run.then((r) => Promise.reject(new Error(`engine exited early: ${r.code} ${r.stderr}`)))]);
    const r = await http('POST', `${base}/v1/completions`, { prompt: [1, 2, 3, 4, 5, 6, 7, 8], max_tokens: 5, stream: true, stream_options: { include_usage: true } });
    assert.equal(r.status, 200);
    const data = sseData(r.text);
    assert.equal(data.at(-1), '[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    assert.equal(chunks.filter((c) => c.choices.length === 1).length, 5);
    assert.deepEqual(chunks.at(-1).usage, { prompt_tokens: 8, total_tokens: 13, completion_tokens: 5 });
    child!.kill('SIGTERM');
    const done = await run;
    assert.equal(done.code, 0, `exit ${done.code} ${done.signal}: ${done.stderr}`);
    assert.match(done.stdout, /^profile engine-test-a100-datasheet/);
    assert.equal(done.stderr, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('orbitflow engine refuses a missing budget or profile with exit 2 and one line', async () => {
  const r = await runCli(['engine', '--model', 'llama-3.1-8b', '--gpu-kv-gib', '2']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^orbitflow: --profile: /);
  const dir = mkdtempSync(join(tmpdir(), 'of-engine-e2e-'));
  try {
    const profile = writeTestProfile(dir);
    const b = await runCli(['engine', '--profile', profile]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /--gpu-kv-gib/);
    const p = await runCli(['engine', '--profile', profile, '--gpu-kv-gib', '2', '--policy', 'nope']);
    assert.equal(p.code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
