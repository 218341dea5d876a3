import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

test('--out: an existing file or an uncreatable directory (/proc/x) is exit 2 before anything is sent', async () => {
  const file = mooncake('out-check.jsonl', [[0, 21, 2], [10, 21, 2]]);
  const taken = join(dir, 'taken');
  writeFileSync(taken, 'not a directory');
  const before = server.served.length;
  const [onFile, onProc, nested] = await Promise.all([
    runCli(['replay', file, '--endpoint', server.url, '--out', taken, ...LAG], { timeoutMs: 15_000 }),
    runCli(['replay', file, '--endpoint', server.url, '--out', '/proc/x', ...LAG], { timeoutMs: 15_000 }),
    runCli(['replay', file, '--endpoint', server.url, '--out', join(taken, 'sub'), ...LAG], { timeoutMs: 15_000 }),
  ]);
  assert.equal(onFile.code, 2, onFile.stderr);
  assert.equal(onFile.stderr, `orbitflow: --out ${taken}: exists and is not a directory\n`);
  assert.equal(onProc.code, 2, `${onProc.code} ${onProc.signal} ${onProc.stderr}`);
  assert.match(onProc.stderr, /^orbitflow: --out \/proc\/x: cannot create \/proc\/x \(E[A-Z]+\)\n$/);
  assert.equal(nested.code, 2, nested.stderr);
  assert.match(nested.stderr, /is not a directory\n$/);
  assert.equal(sentSince(before), 0, 'nothing was sent');
});

test('--out: a directory that vanishes during the run: the summary is printed first, then exit 2 naming the write error', async () => {
  byInput.set(22, { kind: 'stream', gapsMs: [5, 100, 100, 100] });
  const file = mooncake('out-vanishes.jsonl', [[0, 22, 4], [300, 22, 4], [600, 22, 4]]);
  const out = join(dir, 'vanishing');
  const before = server.served.length;
  const r = await runCli(['replay', file, '--endpoint', server.url, '--out', out, ...LAG], {
    onSpawn: (_pid, child) => {
      const poll = setInterval(() => {
        if (sentSince(before) > 0) {
          clearInterval(poll);
          rmSync(out, { recursive: true, force: true });
        }
      }, 5);
      child.on('exit', () => clearInterval(poll));
    },
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stdout, /Successful requests:\s+3/, 'the summary came out');
  assert.match(r.stderr, new RegExp(`--out ${out}: cannot write results: ENOENT`));
});

/** 100,000 rows: a few due at once, the rest an hour later (never sent before the interrupt). */
function bigTrace(): string {
  const file = join(dir, 'big.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < 100_000; i++) lines.push(JSON.stringify({ timestamp: i < 3 ? i : 3_600_000 + i, input_length: 23, output_length: 50 }));
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** Replay `file` into `out`, sending `signals` SIGINTs 50 ms apart once the first request is being served. */
function interrupted(file: string, out: string, signals: number): ReturnType<typeof runCli> {
  const before = server.served.length;
  return runCli(['replay', file, '--endpoint', server.url, '--out', out, ...LAG], {
    timeoutMs: 60_000,
    onSpawn: (_pid, child) => {
      const poll = setInterval(() => {
        if (sentSince(before) === 0) return;
        clearInterval(poll);
        let sent = 0;
        const next = (): void => {
          if (sent === signals || child.exitCode !== null) return;
          sent++;
          child.kill('SIGINT');
          setTimeout(next, 50);
        };
        next();
      }, 5);
      child.on('exit', () => clearInterval(poll));
    },
  });
}

test('a second Ctrl-C while partial results are written waits for them: every file whole, exit 130', async () => {
  byInput.set(23, { kind: 'stream', gapsMs: Array.from({ length: 50 }, () => 20) });
  const file = bigTrace();
  const out = join(dir, 'twice');
  const r = await interrupted(file, out, 2);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /orbitflow: still (finishing the interrupted run|writing partial results to .*); waiting for it \(one more signal aborts/);
  assert.match(r.stderr, /interrupted: writing partial results to /);
  const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.equal(res.interrupted, true);
  const lines = readFileSync(join(out, 'requests.jsonl'), 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.equal(lines.length, 100_000, 'one line per request, none cut off');
  assert.equal(JSON.parse(lines[99_999]).index, 99_999);
  assert.deepEqual(readdirSync(out).sort(), ['report.html', 'requests.jsonl', 'result.json', 'summary.md']);
});

test('a third Ctrl-C aborts the write, says what was lost, and leaves no half-written file', async () => {
  const file = join(dir, 'big.jsonl');
  const out = join(dir, 'thrice');
  const r = await interrupted(file, out, 3);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /orbitflow: aborted: the results \(.*result\.json\) not written\n/);
  for (const f of readdirSync(out)) {
    assert.ok(!f.includes('.tmp-'), `temp file ${f} left behind`);
    // Whatever was renamed into place is whole.
    const text = readFileSync(join(out, f), 'utf8');
    if (f === 'result.json') JSON.parse(text);
    if (f === 'requests.jsonl') assert.equal(text.split('\n').length - 1, 100_000);
  }
});

test('a server that ends its streams cleanly after a fifth of the tokens, without [DONE]: every request truncated, exit 4, results on disk', async () => {
  byInput.set(24, { kind: 'stream', gapsMs: [2, 2, 2, 2], end: 'no-done' });
  const file = mooncake('truncated.jsonl', [[0, 24, 20], [50, 24, 20], [100, 24, 20]]);
  const out = join(dir, 'truncated');
  const r = await runCli(['replay', file, '--endpoint', server.url, '--json', '--out', out, ...LAG]);
  assert.equal(r.code, 4, r.stderr);
  const res = JSON.parse(r.stdout);
  // vLLM reads a cleanly ended stream as a success; orbitflow's own verdict fails all three.
  assert.equal(res.completed, 3);
  assert.equal(res.failed, 0);
  assert.equal(res.orbitflow_completed, 0);
  assert.equal(res.orbitflow_failed, 3);
  assert.equal(res.error_summary.by_cause.truncated, 3);
  assert.match(r.stderr, /run degraded: error rate 1 > --max-error-rate 0.05/);
  const lines = readFileSync(join(out, 'requests.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.status, l.error_cause, l.error_detail]), Array(3).fill(['failed', 'truncated', 'the stream ended without [DONE] after 4 of 20 tokens']));
  assert.equal(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).error_summary.by_cause.truncated, 3);
});

test('inflated, infinite or negative usage fails its request as bad_usage and never turns a latency gate green', async () => {
  byInput.set(25, { kind: 'stream', gapsMs: [2, 30, 30, 30], usageText: (k) => `{"prompt_tokens":-25,"completion_tokens":${k * 1e6},"total_tokens":1e999}` });
  const file = mooncake('bad-usage.jsonl', [[0, 25, 4], [50, 25, 4]]);
  // The error rate is tolerated on purpose: the gate alone must not pass on numbers nobody measured.
  const r = await runCli(['replay', file, '--endpoint', server.url, '--json', '--max-error-rate', '1', '--assert', 'p99_tpot_ms<=1000', '--assert', 'tbt_ms.p99<=1000', '--assert', 'mean_itl_ms<1000', ...LAG]);
  assert.equal(r.code, 1, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.error_summary.by_cause.bad_usage, 2);
  assert.equal(res.total_output_tokens, 0);
  assert.equal(res.total_input_tokens, 0);
  assert.deepEqual(res.latency_samples, { ttft: 0, tpot: 0, itl: 0, e2el: 0, tbt: 0, ttft_content: 0 });
  assert.deepEqual(res.assertions.map((a: { passed: boolean; actual: unknown }) => [a.passed, a.actual]), [[false, null], [false, null], [false, null]]);
  assert.match(r.stderr, /assertion failed: p99_tpot_ms<=1000 \(actual n\/a\)/);
  assert.match(res.error_summary.examples[0].detail, /^usage\.completion_tokens 1000000 is more than the 4 tokens asked for$/);
});

test('--request-timeout-s beyond the 32-bit timer range (3,000,000 s, 1e12 s) means that long, not 1 ms', async () => {
  byInput.set(26, { kind: 'stream', gapsMs: [50, 50, 50] });
  const file = mooncake('long-timeout.jsonl', [[0, 26, 3], [20, 26, 3]]);
  const runs = await Promise.all(['3000000', '1e12'].map((s) => runCli(['replay', file, '--endpoint', server.url, '--json', '--request-timeout-s', s, ...LAG])));
  for (const r of runs) {
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.completed, 2, JSON.stringify(res.error_summary.examples));
    assert.equal(res.error_summary.by_cause.timeout, 0);
  }
  assert.ok(!runs.some((r) => r.stderr.includes('TimeoutOverflowWarning')));
});
