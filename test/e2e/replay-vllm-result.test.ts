import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { startMockServer, type Behaviour, type MockServer } from '../replay/mock-server.js';

let server: MockServer;
let dir: string;
const LAG = ['--max-schedule-lag-ms', '5000'];
// Per prompt length: how the mock answers.
const byInput = new Map<number, Behaviour>();

before(async () => {
  server = await startMockServer((body) => {
    const n = Number(body.max_tokens);
    const len = Array.isArray(body.prompt) ? body.prompt.length : 0;
    const chat = Array.isArray(body.messages);
    const words = chat ? String((body.messages as Array<{ content: string }>)[0].content).split(' ').length : 0;
    return byInput.get(chat ? -words : len) ?? { kind: 'stream', gapsMs: Array.from({ length: n }, (_, i) => (i === 0 ? 10 : 5)), chat };
  });
  dir = mkdtempSync(join(tmpdir(), 'orbitflow-vllm-result-'));
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function mooncake(name: string, rows: Array<[number, number, number]>): string {
  const file = join(dir, name);
  writeFileSync(file, rows.map(([ts, input, output], i) => JSON.stringify({ timestamp: ts, input_length: input, output_length: output, hash_ids: [i] })).join('\n') + '\n');
  return file;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `array<${v.length > 0 ? jsonType(v[0]) : 'empty'}>`;
  return typeof v;
}

test('a vLLM --save-result --save-detailed file: every key is in orbitflow\'s result, with the same JSON type', async () => {
  const vllm = JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/vllm-save-result.json'), 'utf8')) as Record<string, unknown>;
  const file = mooncake('three.jsonl', [[0, 100, 4], [200, 100, 4], [500, 100, 4]]);
  const r = await runCli(['replay', file, '--endpoint', server.url, '--json', '--save-detailed', '--max-concurrency', '2', '--percentiles', '99', ...LAG]);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as Record<string, unknown>;
  const missing = Object.keys(vllm).filter((k) => !(k in res));
  assert.deepEqual(missing, []);
  for (const [k, v] of Object.entries(vllm)) assert.equal(jsonType(res[k]), jsonType(v), k);
  // vLLM's meanings: seconds in the lists, one entry per request, '' for a success.
  assert.deepEqual(res.input_lens, [100, 100, 100]);
  assert.deepEqual(res.output_lens, [4, 4, 4]);
  assert.deepEqual(res.errors, ['', '', '']);
  const ttfts = res.ttfts as number[];
  assert.ok(Math.abs(ttfts.reduce((a, b) => a + b, 0) / 3 - (res.mean_ttft_ms as number) / 1000) < 1e-9);
  assert.equal((res.itls as number[][])[0].length, 3);
  assert.equal(res.endpoint_type, 'openai');
  assert.equal(res.model_id, 'mock-model');
  assert.equal(res.num_prompts, 3);
  assert.equal(res.request_rate, 3 / 0.5, 'three arrivals over 0.5 s');
  assert.equal(res.max_concurrency, 2);
  assert.equal(typeof (res.error_summary as { total: number }).total, 'number', "orbitflow's error summary under its own name");
});

test('without --save-detailed or a concurrency cap the per-request lists and the queue-time keys are left out, as vLLM does', async () => {
  const file = mooncake('two.jsonl', [[0, 100, 3], [100, 100, 3]]);
  const r = await runCli(['replay', file, '--endpoint', server.url, '--json', ...LAG]);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const k of ['input_lens', 'ttfts', 'itls', 'errors', 'mean_client_queue_time_ms']) assert.ok(!(k in res), k);
  assert.equal(res.max_concurrency, null);
  assert.equal(res.output_tokens_counted_by && (res.output_tokens_counted_by as Record<string, number>).usage, 2);
});

test('chat: vLLM TTFT starts at the role-only delta, orbitflow keeps its content TTFT as *_ttft_content_ms', async () => {
  // Prompts of 3 words: the first content token 80 ms after the role-only opening delta.
  byInput.set(-3, { kind: 'stream', gapsMs: [80, 5, 5], chat: true });
  const file = mooncake('chat.jsonl', [[0, 3, 3], [50, 3, 3]]);
  const r = await runCli(['replay', file, '--endpoint', server.url, '--api', 'chat', '--json', ...LAG]);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as Record<string, number>;
  assert.ok(res.mean_ttft_ms < 40, `vLLM TTFT ${res.mean_ttft_ms}`);
  assert.ok(res.mean_ttft_content_ms >= 75, `content TTFT ${res.mean_ttft_content_ms}`);
  assert.ok(res.mean_ttft_content_ms - res.mean_ttft_ms >= 40);
});

test('an {"error": …} event mid-stream: a success under vLLM\'s counts, a failure under orbitflow\'s; a stream without usage is marked as counted by messages', async () => {
  byInput.set(41, { kind: 'stream', gapsMs: [5, 5, 5], end: 'error-event' });
  byInput.set(42, { kind: 'stream', gapsMs: [5, 5, 5], continuousUsage: false, finalUsage: false });
  const file = mooncake('mid-error.jsonl', [[0, 41, 3], [30, 41, 3], [60, 42, 3]]);
  const out = join(dir, 'mid-error');
  const r = await runCli(['replay', file, '--endpoint', server.url, '--json', '--save-detailed', '--max-error-rate', '1', '--out', out, ...LAG]);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.completed, 3);
  assert.equal(res.failed, 0);
  assert.equal(res.orbitflow_completed, 1);
  assert.equal(res.orbitflow_failed, 2);
  assert.equal(res.error_summary.by_cause.server_error, 2);
  assert.deepEqual(res.errors, ['', '', '']);
  assert.deepEqual(res.output_tokens_counted_by, { usage: 0, continuous_usage: 2, token_messages: 1 });
  const lines = readFileSync(join(out, 'requests.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.vllm_success, l.status, l.output_tokens_counted_by]), [
    [true, 'failed', 'continuous_usage'],
    [true, 'failed', 'continuous_usage'],
    [true, 'ok', 'token_messages'],
  ]);
});
