import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { AZURE_CODE, AZURE_CONV, MOONCAKE_CONV } from '../helpers/paths.js';
import { closedPort, startMockServer, type MockServer } from '../replay/mock-server.js';

let server: MockServer;
let dir: string;
let small: string;
let slow: string;
// Load on a shared CI box must not turn these runs into "degraded" (exit 4) by schedule lag.
const LAG = ['--max-schedule-lag-ms', '5000'];

before(async () => {
  // Prompt length 10 → HTTP 500; otherwise a stream of max_tokens tokens, 10 ms then 5 ms apart,
  // or 60 ms apart for the slow trace (output length 20).
  server = await startMockServer((body) => {
    const n = Number(body.max_tokens);
    if ((body.prompt as unknown[]).length === 10) return { kind: 'status', status: 500, body: 'engine error' };
    return { kind: 'stream', gapsMs: Array.from({ length: n }, (_, i) => (i === 0 ? 10 : n === 20 ? 60 : 5)) };
  });
  dir = mkdtempSync(join(tmpdir(), 'orbitflow-replay-e2e-'));
  const line = (ts: number, input: number, output: number, hash: number[]): string => JSON.stringify({ timestamp: ts, input_length: input, output_length: output, hash_ids: hash });
  small = join(dir, 'small.jsonl');
  writeFileSync(small, [line(0, 64, 4, [1]), line(20, 600, 5, [1, 2]), line(40, 32, 3, [3]), line(60, 64, 4, [1])].join('\n') + '\n');
  slow = join(dir, 'slow.jsonl');
  writeFileSync(slow, Array.from({ length: 20 }, (_, i) => line(i * 200, 32, 20, [i])).join('\n') + '\n');
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('replay --json prints only the run result on stdout, exit 0', async () => {
  const r = await runCli(['replay', small, '--endpoint', server.url, '--json', '--slo', 'ttft=5000,tpot=1000', ...LAG]);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.schema, 'orbitflow.run/v1');
  assert.equal(res.completed, 4);
  assert.equal(res.total_output_tokens, 16);
  assert.equal(res.total_input_tokens, 64 + 600 + 32 + 64, 'token-id prompts have exactly the trace input length');
  assert.equal(res.slo_attainment.ttft, 1);
  assert.equal(res.metadata.trace.format, 'mooncake');
  assert.match(res.metadata.trace.sha256, /^[0-9a-f]{64}$/);
  for (const k of ['mean_ttft_ms', 'median_tpot_ms', 'p99_itl_ms', 'p50_e2el_ms', 'request_throughput', 'output_throughput', 'total_token_throughput', 'max_output_tokens_per_s', 'max_concurrent_requests']) {
    assert.equal(typeof res[k], 'number', k);
  }
});

test('replay --out writes result.json, requests.jsonl and summary.md; the API key is never written', async () => {
  const out = join(dir, 'out');
  const r = await runCli(['replay', small, '--endpoint', server.url, '--out', out, '--api-key-env', 'OF_TEST_KEY', '--percentiles', '50,90,99', ...LAG], {
    env: { OF_TEST_KEY: 'sk-secret-value-123' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Successful requests:\s+4/);
  const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.equal(typeof res.p90_ttft_ms, 'number');
  const lines = readFileSync(join(out, 'requests.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 4);
  assert.deepEqual(lines[0].chunk_tokens, [1, 1, 1, 1]);
  assert.equal(lines[0].chunk_ms.length, 4);
  assert.equal(lines[0].status, 'ok');
  assert.match(readFileSync(join(out, 'summary.md'), 'utf8'), /^# orbitflow replay/);
  for (const f of ['result.json', 'requests.jsonl', 'summary.md']) assert.ok(!readFileSync(join(out, f), 'utf8').includes('sk-secret-value-123'), f);
  assert.ok(!r.stdout.includes('sk-secret') && !r.stderr.includes('sk-secret'));
});

test('replay --assert: passing gates exit 0, a failing one exits 1 and names the actual value', async () => {
  const pass = await runCli(['replay', small, '--endpoint', server.url, '--assert', 'completed>=4', '--assert', 'error_rate==0', ...LAG]);
  assert.equal(pass.code, 0, pass.stderr);
  const fail = await runCli(['replay', small, '--endpoint', server.url, '--assert', 'completed>=4', '--assert', 'p99_ttft_ms<0.001', ...LAG]);
  assert.equal(fail.code, 1, fail.stderr);
  assert.match(fail.stderr, /assertion failed: p99_ttft_ms<0.001 \(actual [0-9.]+\)/);
  assert.doesNotMatch(fail.stderr, /completed>=4/);
});

test('replay --assert with an unknown or unavailable key exits 2 before sending anything', async () => {
  const before = server.served.length;
  const unknown = await runCli(['replay', small, '--endpoint', server.url, '--assert', 'p99_ttfx_ms<5']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown numeric key 'p99_ttfx_ms'/);
  const bad = await runCli(['replay', small, '--endpoint', server.url, '--assert', 'p99_ttft_ms<>5']);
  assert.equal(bad.code, 2);
  const noGoodput = await runCli(['replay', small, '--endpoint', server.url, '--assert', 'request_goodput>1']);
  assert.equal(noGoodput.code, 2);
  assert.match(noGoodput.stderr, /--goodput/);
  assert.equal(server.served.length, before, 'nothing was sent');
});

test('replay: error rate over --max-error-rate exits 4, and wins over a failed assert', async () => {
  const errs = join(dir, 'errors.jsonl');
  writeFileSync(errs, `${JSON.stringify({ timestamp: 0, input_length: 10, output_length: 3, hash_ids: [9] })}\n${JSON.stringify({ timestamp: 5, input_length: 12, output_length: 3, hash_ids: [8] })}\n`);
  const r = await runCli(['replay', errs, '--endpoint', server.url, '--json', '--assert', 'completed>=2', ...LAG]);
  assert.equal(r.code, 4, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.error_summary.by_cause.http_5xx, 1);
  assert.equal(res.degraded, true);
  assert.match(r.stderr, /degraded: error rate 0.500/);
  const tolerated = await runCli(['replay', errs, '--endpoint', server.url, '--max-error-rate', '0.5', ...LAG]);
  assert.equal(tolerated.code, 0, tolerated.stderr);
});

test('replay: an unreachable endpoint exits 3', async () => {
  const port = await closedPort();
  const r = await runCli(['replay', small, '--endpoint', `http://127.0.0.1:${port}`], { timeoutMs: 20_000 });
  assert.equal(r.code, 3);
  assert.match(r.stderr, /unreachable/);
});

test('replay: SIGINT writes the finished requests and exits 130', async () => {
  const out = join(dir, 'interrupted');
  const before = server.served.length;
  const r = await runCli(['replay', slow, '--endpoint', server.url, '--out', out, ...LAG], {
    onSpawn: (_pid, child) => {
      // Interrupt once the first request has finished (the first finishes ~1.2 s in).
      const poll = setInterval(() => {
        const mine = server.served.slice(before);
        const firstDone = mine.length > 0 && mine[0].writesMs.length === 20;
        if (firstDone) {
          clearInterval(poll);
          child.kill('SIGINT');
        }
      }, 20);
      child.on('exit', () => clearInterval(poll));
    },
  });
  assert.equal(r.code, 130, r.stderr);
  assert.ok(existsSync(join(out, 'result.json')));
  const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.equal(res.interrupted, true);
  assert.ok(res.completed >= 1, 'the finished request is in the result');
  assert.ok(res.error_summary.by_cause.interrupted >= 1);
  const lines = readFileSync(join(out, 'requests.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 20);
  // The HTML report of what finished is kept too.
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /\["Interrupted","yes: partial results"\]/);
});

test('replay --help documents every option with its default; --compare refuses an --endpoint', async () => {
  const r = await runCli(['replay', small, '--endpoint', 'http://127.0.0.1:9', '--compare', 'dynamic']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--compare: compares policies of the embedded engine/);
  const help = await runCli(['replay', '--help']);
  assert.equal(help.code, 0);
  for (const s of ['--max-concurrency', '--request-timeout-s', '(default: 600)', '--slo', '--deposit', '--goodput', '--percentiles', '(default: "50,99")', '--assert', '--max-error-rate', '--dry-run', '--json', '--speedup', '--controller', '--engine-gpu-kv-gib', '--compare']) {
    assert.ok(help.stdout.includes(s), `help mentions ${s}`);
  }
});

test('replay --dry-run summarises each real trace and sends nothing', async () => {
  const before = server.served.length;
  const runs = await Promise.all([
    runCli(['replay', MOONCAKE_CONV, '--dry-run', '--json']),
    runCli(['replay', AZURE_CONV, '--dry-run', '--json']),
    runCli(['replay', AZURE_CODE, '--dry-run']),
  ]);
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(runs[0].stdout).requests, 12031);
  assert.equal(JSON.parse(runs[1].stdout).requests, 19366);
  assert.match(runs[2].stdout, /8,819/);
  assert.equal(server.served.length, before);
});
