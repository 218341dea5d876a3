import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startMockServer, type MockServer } from '../replay/mock-server.js';

let server: MockServer;
let dir: string;
let trace: string;
const LAG = ['--max-schedule-lag-ms', '5000'];
const SHARDS = 4;
let shardDirs: string[] = [];

before(async () => {
  // Every request: 6 tokens, the first after 10 ms, then 5 ms apart.
  server = await startMockServer();
  dir = mkdtempSync(join(tmpdir(), 'orbitflow-shards-'));
  trace = join(dir, 'trace.jsonl');
  // 80 requests, one every 20 ms, with uneven input lengths (so a shard mix-up shows in the totals).
  writeFileSync(trace, Array.from({ length: 80 }, (_, i) => JSON.stringify({ timestamp: i * 20, input_length: 20 + (i % 7) * 3, output_length: 6, hash_ids: [i] })).join('\n') + '\n');
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  return lines[0];
}

test('4 shards as 4 processes on loopback, merged: the same metrics as one process on the same trace', async () => {
  const one = await runCli(['replay', trace, '--endpoint', server.url, '--json', ...LAG]);
  assert.equal(one.code, 0, one.stderr);
  const single = JSON.parse(one.stdout);

  // Far enough ahead for four Node processes to start on a loaded 2-core box.
  const startAt = String(Date.now() + 8000);
  shardDirs = Array.from({ length: SHARDS }, (_, i) => join(dir, `shard-${i}`));
  const runs = await Promise.all(
    shardDirs.map((out, i) => runCli(['replay', trace, '--endpoint', server.url, '--shard', `${i}/${SHARDS}`, '--start-at', startAt, '--out', out, '--json', ...LAG], { timeoutMs: 60_000 })),
  );
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  for (const [i, r] of runs.entries()) {
    const res = JSON.parse(r.stdout);
    assert.equal(res.num_prompts, 20, `shard ${i} has every 4th request`);
    assert.deepEqual(res.metadata.shard, { index: i, count: SHARDS, start_at_unix_ms: Number(startAt) });
    // t0 is the common instant itself (to the microseconds of the clock conversion); a late wake is in start_late_ms.
    assert.ok(Math.abs(res.metadata.started_unix_ms - Number(startAt)) < 1, `shard ${i}: t0 ${res.metadata.started_unix_ms} vs ${startAt}`);
    assert.ok(res.metadata.start_late_ms >= 0 && res.metadata.start_late_ms < 1000, `shard ${i} woke ${res.metadata.start_late_ms} ms late`);
  }

  const m = await runCli(['merge', ...shardDirs, '--json', '--out', join(dir, 'merged')]);
  assert.equal(m.code, 0, m.stderr);
  const merged = JSON.parse(m.stdout);
  for (const k of ['completed', 'failed', 'num_prompts', 'total_input_tokens', 'total_output_tokens', 'issued']) assert.equal(merged[k], single[k], k);
  assert.equal(merged.latency_samples.itl, single.latency_samples.itl);
  // Timing noise on a shared box: a few ms on latencies, a few per cent on the duration.
  for (const k of ['mean_ttft_ms', 'median_ttft_ms', 'mean_tpot_ms', 'mean_itl_ms', 'mean_e2el_ms']) assert.ok(Math.abs(merged[k] - single[k]) < 15, `${k}: merged ${merged[k]} vs one process ${single[k]}`);
  assert.ok(Math.abs(merged.duration - single.duration) / single.duration < 0.1, `duration ${merged.duration} vs ${single.duration}`);
  assert.ok(Math.abs(merged.request_throughput - single.request_throughput) / single.request_throughput < 0.1);
  assert.ok(merged.metadata.merged.start_spread_ms < 100, `shards began ${merged.metadata.merged.start_spread_ms} ms apart`);
  // The merged --out directory is itself a replay output: its records are the union, in schedule order.
  const lines = readFileSync(join(dir, 'merged', 'requests.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.index), Array.from({ length: 80 }, (_, i) => i));
});

test('merge refuses shards of different traces or seeds, a doubled or missing shard, and a directory that is not a replay output: one line, exit 2', async () => {
  assert.equal(shardDirs.length, SHARDS, 'needs the shards of the test above');
  const tampered = (name: string, edit: (r: Record<string, any>) => void): string => {
    const d = join(dir, name);
    cpSync(shardDirs[3], d, { recursive: true });
    const f = join(d, 'result.json');
    const r = JSON.parse(readFileSync(f, 'utf8'));
    edit(r);
    writeFileSync(f, JSON.stringify(r));
    return d;
  };
  const otherTrace = tampered('other-trace', (r) => (r.metadata.trace.sha256 = 'f'.repeat(64)));
  const otherSeed = tampered('other-seed', (r) => (r.metadata.seeds.prompt = 7));
  const notReplay = join(dir, 'not-replay');
  mkdirSync(notReplay);
  writeFileSync(join(notReplay, 'notes.txt'), 'hello\n');
  const cases: Array<[string[], RegExp]> = [
    [[...shardDirs.slice(0, 3), otherTrace], /other-trace replayed a different trace \(sha256 f{64}\)/],
    [[...shardDirs.slice(0, 3), otherSeed], /other-seed used different seeds/],
    [[...shardDirs.slice(0, 3), shardDirs[2]], /are both shard 2\/4/],
    [shardDirs.slice(0, 3), /shard 3 of 4 missing/],
    [[...shardDirs.slice(0, 3), notReplay], /not-replay: not a replay --out directory \(no result\.json\)/],
  ];
  for (const [dirs, msg] of cases) {
    const r = await runCli(['merge', ...dirs]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(oneLine(r.stderr), msg);
    assert.equal(r.stdout, '');
  }
});

test('bad --shard and --start-at: one line naming the flag, exit 2, nothing sent', async () => {
  const before = server.served.length;
  const soon = String(Date.now() + 60_000);
  const cases: Array<[string[], RegExp]> = [
    [['--shard', '5/4', '--start-at', soon], /^orbitflow: --shard: i must be 0\.\.3 \(0-based\) for N = 4, got 5 in '5\/4'$/],
    [['--shard', '4/4', '--start-at', soon], /^orbitflow: --shard: i must be 0\.\.3/],
    [['--shard', 'two', '--start-at', soon], /^orbitflow: --shard: expected i\/N/],
    [['--shard', '0/4'], /^orbitflow: --shard: needs --start-at MS/],
    [['--start-at', String(Date.now() - 5000)], /^orbitflow: --start-at: .* s in the past/],
    [['--start-at', '1700000000'], /^orbitflow: --start-at: 1700000000 looks like seconds/],
  ];
  for (const [args, msg] of cases) {
    const r = await runCli(['replay', trace, '--endpoint', server.url, ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(oneLine(r.stderr), msg);
  }
  assert.equal(server.served.length, before);
});

test('a shard that is ready only after --start-at (a slow endpoint probe) refuses to start: one line, exit 2, nothing sent', async () => {
  let posts = 0;
  // GET /v1/models answers after 2.5 s (the probe waits up to 3 s); the start instant is 1.5 s away.
  const slow = http.createServer((req, res) => {
    if (req.method !== 'GET') {
      posts++;
      res.writeHead(500).end();
      return;
    }
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[{"id":"m"}]}'), 2500);
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
  try {
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const r = await runCli(['replay', trace, '--endpoint', url, '--shard', '0/2', '--start-at', String(Date.now() + 1500)]);
    assert.equal(r.code, 2, r.stderr);
    const last = r.stderr.trim().split('\n').at(-1) ?? '';
    assert.match(last, /^orbitflow: --start-at: the start instant .* passed [\d.]+ ms before this share was ready \(trace read, endpoint probed\); nothing was sent: give a later --start-at$/);
    assert.equal(posts, 0);
  } finally {
    await new Promise<void>((r) => slow.close(() => r()));
  }
});
