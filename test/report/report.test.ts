import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../../src/core/rng.js';
import { buildRunResult, type RunMetadata } from '../../src/replay/run-result.js';
import { cdfPoints, MAX_POINTS } from '../../src/report/downsample.js';
import { renderReportHtml } from '../../src/report/html.js';
import { chartsOf, REPORT_SCHEMA, type XyChart } from '../../src/report/model.js';
import { buildReplayReport } from '../../src/report/replay-report.js';
import { replayTimeline } from '../../src/report/replay-timeline.js';
import { runCli } from '../helpers/cli.js';
import { okRecord } from '../replay/records.js';

const metadata = (over: Partial<RunMetadata> = {}): RunMetadata => ({
  command: ['orbitflow', 'replay', 't.csv'],
  orbitflow_version: '0.0.0',
  node_version: process.version,
  trace: { file: 't.csv', sha256: '0'.repeat(64), format: 'azure', requests: 0 },
  seeds: { trace: 0, prompt: 0 },
  endpoint: 'http://127.0.0.1:1',
  api: 'completions',
  prompt: 'token-ids',
  model_name: 'm',
  max_concurrency: null,
  request_timeout_s: 600,
  percentiles: [50, 99],
  slo: { tpotMs: 30 },
  goodput: null,
  deposit: false,
  start_time: new Date(0).toISOString(),
  ...over,
});

test('a CDF keeps exact order statistics, the smallest and the largest sample, one point per value', () => {
  const rng = createRng(3);
  const xs = Array.from({ length: 10_000 }, () => Math.round(rng.next() * 500));
  const sorted = [...xs].sort((a, b) => a - b);
  const p = cdfPoints(xs);
  assert.ok(p.x.length <= MAX_POINTS);
  assert.equal(p.x[0], sorted[0]);
  assert.equal(p.x[p.x.length - 1], sorted[sorted.length - 1]);
  assert.equal(p.y[p.y.length - 1], 1);
  assert.equal(new Set(p.x).size, p.x.length, 'ties give one point');
  for (let k = 0; k < p.x.length; k++) {
    // y is the share of samples ≤ x at some rank of that value: between the value's first and last rank.
    const below = sorted.filter((v) => v < p.x[k]).length / sorted.length;
    const atOrBelow = sorted.filter((v) => v <= p.x[k]).length / sorted.length;
    assert.ok(p.y[k] > below - 1e-3 && p.y[k] <= atOrBelow + 1e-3, `point ${k}: ${p.x[k]} → ${p.y[k]} outside (${below}, ${atOrBelow}]`);
    if (k > 0) assert.ok(p.x[k] > p.x[k - 1] && p.y[k] > p.y[k - 1]);
  }
  assert.deepEqual(cdfPoints([]), { x: [], y: [] });
  assert.deepEqual(cdfPoints([5, Number.NaN]), { x: [5], y: [1] });
});

test('the replay timeline counts what was due, sent and finished, tokens per second and requests in flight', () => {
  // Two requests: sent at 0 s and 0.5 s, done at 2.5 s and 1.2 s; one token message each 100 ms.
  const a = okRecord(0, 0, [100, 1000, 2500]);
  const b = okRecord(1, 500, [200, 700]);
  b.dueMs = 400; // released 100 ms late
  const tl = replayTimeline([a, b]);
  assert.equal(tl.widthS, 1);
  assert.deepEqual(tl.t, [0, 1, 2]);
  assert.deepEqual(tl.due, [2, 2, 2]);
  assert.deepEqual(tl.sent, [2, 2, 2]);
  assert.deepEqual(tl.finished, [0, 1, 2]);
  // a: 100 ms, 1000 ms, 2500 ms; b: 700 ms, 1200 ms.
  assert.deepEqual(tl.outputTokS, [2, 2, 1]);
  assert.deepEqual(tl.inFlightMax, [2, 2, 1]);
  assert.deepEqual(tl.lagMaxMs, [100, null, null]);
  assert.deepEqual(tl.lagMeanMs, [50, null, null]);
});

test('a 10-minute replay of 6000 requests makes a report well under 5 MB, its timelines bucketed, its percentiles exact', () => {
  const rng = createRng(11);
  const records = Array.from({ length: 6000 }, (_, i) => {
    const sent = rng.next() * 590_000;
    let t = 50 + rng.next() * 200;
    const chunks = Array.from({ length: 250 }, () => (t += 5 + rng.next() * 30));
    return okRecord(i, sent, chunks);
  });
  const result = buildRunResult(records, { durationS: 600, percentiles: [50, 99], slo: { tpotMs: 30 }, deposit: false, maxErrorRate: 1, maxScheduleLagMs: 10, interrupted: false, metadata: metadata() });
  const report = buildReplayReport({ primary: { label: 'run', result, records }, compare: [], context: [] });
  assert.equal(report.schema, REPORT_SCHEMA);
  const html = renderReportHtml(report);
  const mb = Buffer.byteLength(html) / 2 ** 20;
  assert.ok(mb < 1, `report is ${mb.toFixed(2)} MiB`);
  for (const c of chartsOf(report)) {
    if (c.kind === 'bar' || c.kind === 'heatmap') continue;
    for (const s of (c as XyChart).series) assert.ok(s.x.length <= MAX_POINTS + 1, `${c.id}/${s.label}: ${s.x.length} points`);
  }
  // The summary table is the terminal's: the exact p99 TTFT of all 6000 requests.
  const ttft = report.sections[0].items.find((i) => i.kind === 'table' && i.title === 'Time to First Token');
  assert.ok(ttft && ttft.kind === 'table');
  assert.deepEqual(ttft.rows.find((r) => r[0] === 'P99 TTFT (ms)'), ['P99 TTFT (ms)', (result.p99_ttft_ms as number).toFixed(2)]);
});

test('the report HTML cannot be broken out of by its data, and forbids every fetch', () => {
  const evil = '</script><script>alert(1)</script><!--';
  const result = buildRunResult([okRecord(0, 0, [10, 20])], { durationS: 1, percentiles: [50], slo: {}, deposit: false, maxErrorRate: 1, maxScheduleLagMs: 10, interrupted: false, metadata: metadata({ trace: { file: evil, sha256: '0'.repeat(64), format: 'azure', requests: 1 } }) });
  const html = renderReportHtml(buildReplayReport({ primary: { label: evil, result, records: [okRecord(0, 0, [10, 20])] }, compare: [], context: [] }));
  assert.ok(!html.includes(evil), 'the data closed its script element');
  assert.equal(html.match(/<\/script>/g)?.length, 3, 'exactly the three script elements close');
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
  assert.doesNotMatch(html, /(src|href)="https?:/);
});

test('a bad --report path is one line and exit 2 before anything runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orbitflow-report-path-'));
  try {
    mkdirSync(join(dir, 'a-dir'));
    const cases: Array<[string[], RegExp]> = [
      [['replay', 'traces/sample-azure-conv.csv', '--report', join(dir, 'a-dir')], /--report .*a-dir: is a directory/],
      [['replay', 'traces/sample-azure-conv.csv', '--report', '/etc/passwd/r.html'], /--report \/etc\/passwd\/r\.html: .*not a directory/],
      [['replay', 'traces/sample-azure-conv.csv', '--dry-run', '--report', join(dir, 'r.html')], /--report: a --dry-run sends nothing/],
      [['plan', '--trace', 'traces/sample-mooncake.jsonl', '--model', 'llama-3.1-8b', '--profile', 'profiles/a6000-llama-3.1-8b.published-fit.json', '--gpu-kv-gib', '4', '--report', join(dir, 'a-dir')], /--report .*: is a directory/],
      [['plan', '--batch', 'traces/batches/mooncake-16.json', '--model', 'llama-3.1-8b', '--profile', 'profiles/a6000-llama-3.1-8b.published-fit.json', '--gpu-kv-gib', '8', '--report', `${dir}/`], /--report .*: expected a file name/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], message);
      assert.equal(r.stdout, '', 'something ran');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
