import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startMockServer, type MetricsAnswer } from '../replay/mock-server.js';

let dir: string;
let trace: string;
const LAG = ['--max-schedule-lag-ms', '5000'];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'orbitflow-telemetry-e2e-'));
  trace = join(dir, 't.jsonl');
  // 6 requests over 0.5 s, 20 tokens 20 ms apart each: the run lasts about a second.
  const line = (ts: number): string => JSON.stringify({ timestamp: ts, input_length: 32, output_length: 20 });
  writeFileSync(trace, [0, 100, 200, 300, 400, 500].map(line).join('\n') + '\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const stream = (body: Record<string, unknown>) => ({ kind: 'stream' as const, gapsMs: Array.from({ length: Number(body.max_tokens) }, () => 20) });

async function replayWith(metrics: (i: number) => MetricsAnswer, extra: (url: string) => string[] = () => []): Promise<{ code: number | null; stderr: string; res: Record<string, any>; scrapes: number; served: number }> {
  const server = await startMockServer(stream, metrics);
  try {
    const r = await runCli(['replay', trace, '--endpoint', server.url, '--json', '--scrape-interval-s', '0.2', ...LAG, ...extra(server.url)], { timeoutMs: 30_000 });
    return { code: r.code, stderr: r.stderr, res: r.stdout ? JSON.parse(r.stdout) : {}, scrapes: server.scrapes, served: server.served.length };
  } finally {
    await server.close();
  }
}

const GOOD = `# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name="m"} 3.0\nvllm:num_requests_waiting{model_name="m"} 0.0\nvllm:kv_cache_usage_perc{model_name="m"} 0.25\nvllm:num_preemptions_total{model_name="m"} 0.0\n`;

test('a /metrics that answers 404, garbage or nothing leaves the replay untouched: exit 0, every request served, one line on stderr', async () => {
  const ok = await replayWith(() => ({ status: 200, body: GOOD }));
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.res.telemetry.engine, 'vllm');
  assert.ok(ok.res.telemetry.samples >= 3, `${ok.res.telemetry.samples} samples`);
  assert.equal(ok.res.telemetry.summary.peak_running, 3);
  assert.equal(ok.res.telemetry.summary.ever_queued, false);
  assert.doesNotMatch(ok.stderr, /telemetry/);
  const cases: Array<[string, (i: number) => MetricsAnswer, RegExp]> = [
    ['404', () => ({ status: 404, body: '{"detail":"Not Found"}', contentType: 'application/json' }), /HTTP 404/],
    ['garbage', () => ({ status: 200, body: '<html><body>\u0000\u0001 not metrics {{{ </body></html>\n'.repeat(50) }), /not Prometheus text/],
    ['foreign metrics', () => ({ status: 200, body: 'process_cpu_seconds_total 12.5\ngo_goroutines 7\n' }), /no engine metric orbitflow knows/],
    ['no answer', () => 'hang', /no answer within \d+ ms/],
    ['good, then 404', (i) => (i < 2 ? { status: 200, body: GOOD } : { status: 404, body: 'gone' }), /HTTP 404/],
  ];
  for (const [name, answer, why] of cases) {
    const r = await replayWith(answer);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal(r.res.completed, 6, name);
    assert.equal(r.res.error_summary.total, 0, name);
    assert.equal(r.res.degraded, false, name);
    assert.equal(r.res.total_output_tokens, ok.res.total_output_tokens, name);
    assert.deepEqual(Object.keys(r.res).sort(), Object.keys(ok.res).sort(), `${name}: the same result keys`);
    const lines = r.stderr.split('\n').filter((l) => l.includes('engine telemetry'));
    assert.equal(lines.length, 1, `${name}: reported once: ${r.stderr}`);
    assert.match(lines[0], why, name);
    assert.ok(r.res.telemetry.failed_scrapes >= 1, name);
    assert.match(r.res.telemetry.first_error, why, name);
  }
});

test('--metrics-url off the endpoint origin is exit 2 before anything is sent; --no-scrape sends no scrape', async () => {
  const other = await replayWith(() => ({ status: 200, body: GOOD }), () => ['--metrics-url', 'http://127.0.0.2:9/metrics']);
  assert.equal(other.code, 2, other.stderr);
  assert.match(other.stderr, /^orbitflow: --metrics-url: http:\/\/127\.0\.0\.2:9 is not the endpoint's origin/m);
  assert.equal(other.served, 0);
  assert.equal(other.scrapes, 0);
  const off = await replayWith(() => ({ status: 200, body: GOOD }), () => ['--no-scrape']);
  assert.equal(off.code, 0, off.stderr);
  assert.equal(off.scrapes, 0);
  assert.deepEqual(off.res.telemetry, { enabled: false, reason: '--no-scrape' });
  const same = await replayWith(() => ({ status: 200, body: GOOD }), (url) => ['--metrics-url', `${url}/engine/metrics?format=text`]);
  assert.equal(same.code, 0, same.stderr);
  assert.equal(same.res.telemetry.url, `${same.res.metadata.endpoint}/engine/metrics`);
  assert.ok(same.res.telemetry.samples >= 1);
});
