import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { BIN, PROFILES, REPO_ROOT } from '../helpers/paths.js';
import { http, SseStream, until } from '../engine/http-client.js';

// `orbitflow engine` under a hostile client and on shutdown: oversized requests get an
// OpenAI-shaped error answer (never a reset), and SIGTERM ends every open stream explicitly.

const PROFILE = join(PROFILES, 'h100-sxm.datasheet.json');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'of-engine-faults-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Engine {
  url: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; stderr: string; ms: number }>;
}

function startEngine(...extra: string[]): Promise<Engine> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'engine', '--model', 'llama-3.1-8b', '--profile', PROFILE, '--gpu-kv-gib', '4', '--port', '0', '--json', ...extra], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let killedAt = 0;
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<{ code: number | null; stderr: string; ms: number }>((r) => child.on('exit', (code) => r({ code, stderr, ms: Date.now() - killedAt })));
    const kill = child.kill.bind(child);
    child.kill = (sig?: NodeJS.Signals | number) => {
      killedAt = Date.now();
      return kill(sig);
    };
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ url: JSON.parse(buf.slice(0, nl)).url, child, exited });
    });
    child.on('error', reject);
    void exited.then((e) => reject(new Error(`engine exited ${e.code}: ${e.stderr}`)));
  });
}

function openAiError(text: string, status: number): string {
  const body = JSON.parse(text);
  assert.deepEqual(Object.keys(body), ['error'], text.slice(0, 200));
  assert.deepEqual(Object.keys(body.error), ['message', 'type', 'param', 'code']);
  assert.equal(body.error.code, status);
  return body.error.message as string;
}

test('engine: a 50 MB body and a 10 M-token prompt get 413, a prompt over the context 400, all OpenAI-shaped, never a reset', async () => {
  const e = await startEngine();
  try {
    const big = await http('POST', `${e.url}/v1/completions`, JSON.stringify({ prompt: 'x', pad: 'y'.repeat(50 * 1024 * 1024) }));
    assert.equal(big.status, 413);
    assert.match(openAiError(big.text, 413), /over the 33554432-byte limit/);
    const tenM = `{"prompt":[${'1000,'.repeat(10_000_000 - 1)}1000],"max_tokens":1}`;
    const many = await http('POST', `${e.url}/v1/completions`, tenM);
    assert.equal(many.status, 413);
    openAiError(many.text, 413);
    const long = await http('POST', `${e.url}/v1/completions`, { prompt: Array.from({ length: 200_000 }, () => 1000), max_tokens: 1 });
    assert.equal(long.status, 400);
    assert.match(openAiError(long.text, 400), /maximum context length is 131072 tokens/);
    // The engine still serves.
    const ok = await http('POST', `${e.url}/v1/completions`, { prompt: [1, 2, 3], max_tokens: 2 });
    assert.equal(ok.status, 200);
  } finally {
    e.child.kill('SIGTERM');
    await e.exited;
  }
});

test('engine on SIGTERM: a request that finishes within the grace period completes; the rest get an error event, then [DONE]; exit 0', async () => {
  const e = await startEngine('--shutdown-grace-s', '1.5', '--time-scale', '1');
  const long = await SseStream.open('POST', `${e.url}/v1/completions`, { prompt: [1, 2, 3], max_tokens: 100_000, stream: true });
  await long.next();
  const short = await SseStream.open('POST', `${e.url}/v1/completions`, { prompt: [1, 2, 3], max_tokens: 40, stream: true, stream_options: { include_usage: true } });
  await short.next();
  e.child.kill('SIGTERM');
  const events = async (s: SseStream): Promise<string[]> => {
    const out: string[] = [];
    for (let d = await s.nextRaw(); d !== null; d = await s.nextRaw()) out.push(d);
    return out;
  };
  const [longEvents, shortEvents] = await Promise.all([events(long), events(short)]);
  assert.equal(shortEvents.at(-1), '[DONE]');
  assert.equal(JSON.parse(shortEvents.at(-2)!).usage.completion_tokens, 40, 'the short request finished in the grace period');
  assert.equal(longEvents.at(-1), '[DONE]', 'the cut stream still ends with [DONE]');
  const err = JSON.parse(longEvents.at(-2)!);
  assert.equal(err.error.type, 'ServiceUnavailableError');
  assert.match(err.error.message, /shutting down \(the request did not finish within the 1\.5 s grace period\)/);
  const done = await e.exited;
  assert.equal(done.code, 0, done.stderr);
  assert.ok(done.ms < 10_000, `exited ${done.ms} ms after SIGTERM`);
});

test('replay against an engine that is stopped mid-run: the cut requests fail (server_error) by orbitflow\'s verdict, while vLLM\'s counts keep its meaning; exit 4', async () => {
  const e = await startEngine('--shutdown-grace-s', '0', '--time-scale', '1');
  const trace = join(dir, 'long.jsonl');
  writeFileSync(trace, [0, 100, 200].map((ts) => JSON.stringify({ timestamp: ts, input_length: 64, output_length: 4000 })).join('\n') + '\n');
  let served = false;
  const r = await runCli(['replay', trace, '--endpoint', e.url, '--json', '--controller', 'off', '--max-schedule-lag-ms', '5000'], {
    timeoutMs: 60_000,
    onSpawn: () => {
      void until('the three requests to be running', async () => {
        const st = await http('GET', `${e.url}/orbitflow/v1/state`);
        return st.status === 200 && (JSON.parse(st.text).requests as unknown[]).length === 3;
      }).then(() => {
        served = true;
        e.child.kill('SIGTERM');
      });
    },
  });
  assert.ok(served);
  assert.equal(r.code, 4, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.orbitflow_completed, 0);
  assert.equal(res.orbitflow_failed, 3);
  // vLLM's client ignores an {"error": …} event: the streams that had begun are its successes.
  assert.equal(res.completed + res.failed, 3);
  assert.equal(res.error_summary.by_cause.server_error, 3);
  assert.match(res.error_summary.examples[0].detail, /engine is shutting down/);
  assert.equal((await e.exited).code, 0);
});

test('engine: a port in use or a host that is not this machine is exit 2 with one line, not an internal error (70)', async () => {
  const e = await startEngine();
  try {
    const port = new URL(e.url).port;
    const [taken, foreign] = await Promise.all([
      runCli(['engine', '--profile', PROFILE, '--gpu-kv-gib', '1', '--port', port], { timeoutMs: 20_000 }),
      runCli(['engine', '--profile', PROFILE, '--gpu-kv-gib', '1', '--host', 'no.such.host.invalid'], { timeoutMs: 20_000 }),
    ]);
    assert.equal(taken.code, 2, taken.stderr);
    assert.equal(taken.stderr, `orbitflow: cannot listen on 127.0.0.1:${port}: the port is in use\n`);
    assert.equal(foreign.code, 2, foreign.stderr);
    assert.equal(foreign.stderr, 'orbitflow: cannot listen on no.such.host.invalid:0: not an address of this machine\n');
  } finally {
    e.child.kill('SIGTERM');
    await e.exited;
  }
});
