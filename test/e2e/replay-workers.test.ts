import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startMockServer, type MockServer } from '../replay/mock-server.js';

let server: MockServer;
let dir: string;
let trace: string;
const LAG = ['--max-schedule-lag-ms', '5000'];

before(async () => {
  // Prompt length 13 → HTTP 500; 40 output tokens → a slow stream (50 ms gaps); otherwise 10 ms, then 5 ms gaps.
  server = await startMockServer((body) => {
    const n = Number(body.max_tokens);
    if ((body.prompt as unknown[]).length === 13) return { kind: 'status', status: 500, body: 'engine error' };
    return { kind: 'stream', gapsMs: Array.from({ length: n }, (_, i) => (i === 0 ? 10 : n === 40 ? 50 : 5)) };
  });
  dir = mkdtempSync(join(tmpdir(), 'orbitflow-workers-'));
  trace = join(dir, 'trace.jsonl');
  writeFileSync(trace, Array.from({ length: 60 }, (_, i) => JSON.stringify({ timestamp: i * 15, input_length: 20 + (i % 5), output_length: 5, hash_ids: [i] })).join('\n') + '\n');
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('--workers 3: every request once, the same metrics as one worker (within timing noise), the records merged in schedule order', async () => {
  const out = join(dir, 'w3');
  // One after the other: two replays at once on a loaded 2-core box would measure each other.
  const one = await runCli(['replay', trace, '--endpoint', server.url, '--json', ...LAG]);
  const three = await runCli(['replay', trace, '--endpoint', server.url, '--json', '--workers', '3', '--out', out, ...LAG]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(three.code, 0, three.stderr);
  const a = JSON.parse(one.stdout);
  const b = JSON.parse(three.stdout);
  for (const k of ['completed', 'failed', 'num_prompts', 'total_input_tokens', 'total_output_tokens', 'issued']) assert.equal(b[k], a[k], k);
  assert.deepEqual(b.latency_samples, a.latency_samples);
  // The server's own schedule is 10 ms to the first token and 5 ms gaps (E2EL 30 ms); on a shared box either run may be some ms late.
  for (const [k, floor] of [['mean_ttft_ms', 10], ['mean_tpot_ms', 5], ['mean_e2el_ms', 30]] as const) {
    assert.ok(a[k] >= floor * 0.95 && b[k] >= floor * 0.95, `${k}: ${a[k]}, ${b[k]} ≥ the server's ${floor}`);
    assert.ok(Math.abs(b[k] - a[k]) < 15, `${k}: 3 workers ${b[k]} vs 1 worker ${a[k]}`);
  }
  assert.ok(Math.abs(b.duration - a.duration) / a.duration < 0.1, `duration ${b.duration} vs ${a.duration}`);
  assert.equal(b.metadata.workers.count, 3);
  assert.equal(b.schedule_lag_ms.count, 60, 'the lag covers every worker\'s requests');
  const lines = readFileSync(join(out, 'requests.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.index), Array.from({ length: 60 }, (_, i) => i));
});

test('--workers 2: failures and schedule lag of one worker\'s share make the whole run degraded (exit 4)', async () => {
  // Every failing request (prompt 13) sits at an odd position: all of them in worker 1's share.
  const odd = join(dir, 'odd.jsonl');
  writeFileSync(odd, Array.from({ length: 20 }, (_, i) => JSON.stringify({ timestamp: i * 10, input_length: i % 2 === 1 ? 13 : 20, output_length: 3, hash_ids: [i] })).join('\n') + '\n');
  const r = await runCli(['replay', odd, '--endpoint', server.url, '--json', '--workers', '2', ...LAG]);
  assert.equal(r.code, 4, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.error_summary.by_cause.http_5xx, 10);
  assert.equal(res.completed, 10);
  assert.match(r.stderr, /run degraded: error rate 0\.500 > --max-error-rate 0\.05/);
  const lag = await runCli(['replay', trace, '--endpoint', server.url, '--json', '--workers', '2', '--max-schedule-lag-ms', '0.0001']);
  assert.equal(lag.code, 4, lag.stderr);
  assert.match(lag.stderr, /p99 schedule lag .* ms > --max-schedule-lag-ms 0\.0001/);
});

test('--workers 2: SIGINT keeps the finished requests of every worker and exits 130', async () => {
  const slow = join(dir, 'slow.jsonl');
  writeFileSync(slow, Array.from({ length: 12 }, (_, i) => JSON.stringify({ timestamp: i * 150, input_length: 30, output_length: 40, hash_ids: [i] })).join('\n') + '\n');
  const out = join(dir, 'interrupted');
  const before = server.served.length;
  const r = await runCli(['replay', slow, '--endpoint', server.url, '--workers', '2', '--out', out, ...LAG], {
    onSpawn: (_pid, child) => {
      // Once two requests (one per worker) have streamed every token.
      const poll = setInterval(() => {
        const done = server.served.slice(before).filter((s) => s.writesMs.length === 40).length;
        if (done >= 2) {
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
  assert.ok(res.orbitflow_completed >= 2, `${res.orbitflow_completed} finished`);
  assert.ok(res.error_summary.by_cause.interrupted >= 1);
  assert.equal(readFileSync(join(out, 'requests.jsonl'), 'utf8').trim().split('\n').length, 12);
});

test('--workers 2 --max-concurrency 3: the workers share the cap (never more than 3 in flight), and the result reports the run\'s cap', async () => {
  // 12 requests at once, each streaming for ~20 ms.
  const burst = join(dir, 'burst.jsonl');
  writeFileSync(burst, Array.from({ length: 12 }, (_, i) => JSON.stringify({ timestamp: 0, input_length: 30, output_length: 3, hash_ids: [i] })).join('\n') + '\n');
  const r = await runCli(['replay', burst, '--endpoint', server.url, '--json', '--workers', '2', '--max-concurrency', '3', ...LAG]);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.completed, 12);
  assert.equal(res.max_concurrency, 3);
  assert.ok(res.max_concurrent_requests <= 3, `peak ${res.max_concurrent_requests}`);
  assert.equal(typeof res.p99_client_queue_time_ms, 'number');
  assert.ok(res.p99_client_queue_time_ms > 0, 'requests waited for a slot');
});

test('--workers 0 / 65 and --controller on with --workers: one line, exit 2', async () => {
  for (const [args, msg] of [
    [['--workers', '0'], /--workers.*expected a positive integer, got '0'/],
    [['--workers', '65'], /^orbitflow: --workers: at most 64, got 65$/],
    [['--workers', '2', '--controller', 'on'], /^orbitflow: --controller: on needs one client: leave it out with --workers$/],
    [['--workers', '4', '--max-concurrency', '3'], /^orbitflow: --max-concurrency: 3 cannot be shared by 4 workers/],
  ] as Array<[string[], RegExp]>) {
    const r = await runCli(['replay', trace, '--endpoint', server.url, ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.trim().split('\n')[0], msg);
  }
});
