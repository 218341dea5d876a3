import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestLine } from '../../src/replay/outputs.js';
import { recordFromRequestLine } from '../../src/replay/run-files.js';
import { buildRunResult, type RunMetadata } from '../../src/replay/run-result.js';
import { failedRecord, okRecord } from './records.js';

const metadata = { percentiles: [50, 90, 99], api: 'chat', model_name: 'm', max_concurrency: 2, start_time: '2026-01-01T00:00:00.000Z' } as unknown as RunMetadata;

test('a requests.jsonl line reads back as the record it was written from: every metric of the result is the same', () => {
  const a = okRecord(0, 0, [100, 150, 210, 300], { usage: 4 });
  const b = okRecord(1, 50, [200, 260], { tokens: [1, 4], slo: { ttftMs: 150 } });
  const c = okRecord(2, 60, [90, 95, 130]);
  // Chat: a role-only delta 20 ms after the send, and a usage-only message at the end.
  c.choiceMs = [20, 90, 95, 130];
  c.lastDataMs = 140;
  const d = failedRecord(3, 70, 'server_error', { chunkMs: [40, 60] });
  d.httpStatus = 200;
  d.choiceMs = [10, 40, 60];
  d.lastDataMs = 60;
  const e = failedRecord(4, 80, 'http_5xx');
  e.httpStatus = 500;
  e.errorDetail = 'HTTP 500: engine error';
  const records = [a, b, c, d, e];
  for (const r of records) {
    r.releasedMs = r.sentMs - 0.25;
    r.doneMs = r.sentMs + 400;
  }
  const back = records.map((r) => recordFromRequestLine(JSON.parse(JSON.stringify(requestLine(r)))));
  const inputs = { durationS: 1, percentiles: [50, 90, 99], slo: { ttftMs: 200, tbtMs: 80 }, deposit: true, maxErrorRate: 0.05, maxScheduleLagMs: 10, interrupted: false, metadata, saveDetailed: true };
  assert.deepEqual(buildRunResult(back, inputs), buildRunResult(records, inputs));
  assert.equal(buildRunResult(back, inputs).completed, 4, "vLLM's verdict: the error-event stream counts");
});

test('a line from before output_tokens_counted_by existed keeps its final token count', () => {
  const line = requestLine(okRecord(0, 0, [10, 20], { usage: 7, expected: 7 }));
  delete (line as Record<string, unknown>).output_tokens_counted_by;
  assert.equal(recordFromRequestLine(JSON.parse(JSON.stringify(line))).usageOutputTokens, 7);
});
