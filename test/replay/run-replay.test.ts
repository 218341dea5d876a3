import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { OrbitflowError } from '../../src/core/errors.js';
import { parseEndpoint } from '../../src/replay/endpoint.js';
import { runReplay, type ReplayConfig, type RequestEventType } from '../../src/replay/run-replay.js';
import type { TraceRequest } from '../../src/trace/types.js';
import { closedPort, startMockServer, type Behaviour, type MockServer } from './mock-server.js';
import { traceRequest } from './records.js';

let server: MockServer;
// The prompt length picks the behaviour: 16 → stream, 17 → HTTP 500, 18 → reset, 19 → slow stream.
const BY_INPUT: Record<number, Behaviour> = {
  16: { kind: 'stream', gapsMs: [20, 10, 10] },
  17: { kind: 'status', status: 500, body: 'overloaded' },
  18: { kind: 'stream', gapsMs: [10], end: 'reset' },
  19: { kind: 'stream', gapsMs: [30, 200, 200, 200, 200] },
};

before(async () => {
  server = await startMockServer((body) => BY_INPUT[(body.prompt as number[]).length] ?? { kind: 'no-tokens' });
});
after(() => server.close());

function config(requests: TraceRequest[], over: Partial<ReplayConfig> = {}): ReplayConfig {
  return {
    endpoint: parseEndpoint(server.url),
    api: 'completions',
    prompt: 'token-ids',
    headers: {},
    requests,
    maxConcurrency: Infinity,
    requestTimeoutMs: 5000,
    slo: { ttftMs: 1000, tbtMs: 100 },
    deposit: true,
    percentiles: [50, 99],
    maxErrorRate: 0.05,
    maxScheduleLagMs: 10_000,
    seed: 3,
    metadata: { command: ['orbitflow', 'replay', 'test'], trace: null, traceSeed: 0 },
    ...over,
  };
}

test('runReplay: paced requests, per-request records, errors by cause, degraded on error rate', async () => {
  const reqs = [
    traceRequest(0, { arrivalS: 0, inputTokens: 16, outputTokens: 3 }),
    traceRequest(1, { arrivalS: 0.03, inputTokens: 16, outputTokens: 3 }),
    traceRequest(2, { arrivalS: 0.01, inputTokens: 17, outputTokens: 3 }),
    traceRequest(3, { arrivalS: 0.06, inputTokens: 18, outputTokens: 3 }),
  ];
  const events: Array<[RequestEventType, number]> = [];
  let chunks = 0;
  const { result, records } = await runReplay(config(reqs), {
    onRequestEvent: (type, rec) => events.push([type, rec.index]),
    onTokenChunk: () => chunks++,
  });
  assert.equal(result.schema, 'orbitflow.run/v1');
  assert.equal(result.issued, 4);
  assert.equal(result.completed, 2);
  assert.equal(result.failed, 2);
  assert.equal(result.error_summary.by_cause.http_5xx, 1);
  assert.equal(result.error_summary.by_cause.reset, 1);
  assert.equal(result.error_rate, 0.5);
  assert.equal(result.degraded, true);
  assert.match(result.degraded_reasons[0], /error rate/);
  assert.equal(result.total_output_tokens, 6);
  assert.equal(result.metadata.model_name, 'mock-model', 'model name from GET /v1/models');
  assert.equal(result.controller, null);
  // Sent in due order (the trace was not sorted), never before the due time.
  const byDue = [...records].sort((a, b) => a.dueMs - b.dueMs);
  assert.deepEqual(byDue.map((r) => r.index), [0, 2, 1, 3]);
  for (const r of records) assert.ok(r.releasedMs >= r.dueMs, `request ${r.index} released early`);
  for (let k = 1; k < byDue.length; k++) assert.ok(byDue[k].sentMs >= byDue[k - 1].sentMs);
  assert.equal(chunks, 3 + 3 + 1, 'one onTokenChunk per token message, failed requests included');
  for (const i of [0, 1, 2, 3]) {
    const mine = events.filter(([, idx]) => idx === i).map(([t]) => t);
    assert.deepEqual(mine, ['released', 'sent', 'done']);
  }
  // The prompt is exactly the trace's input length of token ids.
  const bodies = server.served.slice(-4).map((s) => s.body);
  for (const b of bodies) {
    assert.equal(b.stream, true);
    assert.equal(b.ignore_eos, true);
    assert.equal(b.temperature, 0);
    assert.deepEqual(b.stream_options, { include_usage: true, continuous_usage_stats: true });
  }
});

test('runReplay: --max-concurrency 1 sends the next request only after the previous finished', async () => {
  const reqs = [0, 1, 2].map((i) => traceRequest(i, { arrivalS: 0, inputTokens: 16, outputTokens: 3 }));
  const { result, records } = await runReplay(config(reqs, { maxConcurrency: 1 }));
  assert.equal(result.completed, 3);
  const bySend = [...records].sort((a, b) => a.sentMs - b.sentMs);
  for (let k = 1; k < 3; k++) assert.ok(bySend[k].sentMs >= bySend[k - 1].doneMs, 'one at a time');
  assert.ok(result.client_queue_time_ms.max > 0, 'the wait is reported as client queue time');
  assert.equal(result.max_concurrent_requests, 1);
  assert.equal(result.metadata.max_concurrency, 1);
});

test('runReplay: an abort signal stops the run; finished requests are kept, the rest fail as interrupted', async () => {
  const reqs = [
    traceRequest(0, { arrivalS: 0, inputTokens: 16, outputTokens: 3 }),
    traceRequest(1, { arrivalS: 0, inputTokens: 19, outputTokens: 5 }),
    traceRequest(2, { arrivalS: 30, inputTokens: 16, outputTokens: 3 }),
  ];
  const ac = new AbortController();
  const { result, records } = await runReplay(
    config(reqs),
    {
      onRequestEvent: (type, rec) => {
        if (type === 'done' && rec.index === 0) ac.abort();
      },
    },
    ac.signal,
  );
  assert.equal(result.interrupted, true);
  assert.equal(result.completed, 1);
  assert.equal(result.issued, 2, 'request 2 (due in 30 s) was never issued');
  assert.equal(records[1].errorCause, 'interrupted');
  assert.equal(records[2].status, 'pending');
  assert.equal(result.error_rate, 0, 'our own aborts are not server errors');
  assert.equal(result.degraded, false);
});

test('runReplay: an unreachable endpoint is exit 3 before anything is sent', async () => {
  const port = await closedPort();
  await assert.rejects(
    runReplay(config([traceRequest(0)], { endpoint: parseEndpoint(`http://127.0.0.1:${port}`) })),
    (e: unknown) => OrbitflowError.is(e) && e.exitCode === 3 && /unreachable/.test(e.message),
  );
});

test('runReplay: a request whose body cannot be built fails as client; the run goes on, its slot handed on', async () => {
  // 1e10 token ids do not fit a typed array: the allocation throws when the request comes due.
  // (Trace readers refuse such rows; a caller that builds requests itself must not lose the run.)
  const reqs = [
    traceRequest(0, { arrivalS: 0, inputTokens: 1e10, outputTokens: 3 }),
    traceRequest(1, { arrivalS: 0.01, inputTokens: 16, outputTokens: 3 }),
    traceRequest(2, { arrivalS: 0.02, inputTokens: 16, outputTokens: 3 }),
  ];
  const { result, records } = await runReplay(config(reqs, { maxConcurrency: 1 }));
  assert.equal(records[0].status, 'failed');
  assert.equal(records[0].errorCause, 'client');
  assert.match(records[0].errorDetail ?? '', /^cannot build the request body: .*(array|length)/i);
  assert.deepEqual(records.slice(1).map((r) => r.status), ['ok', 'ok']);
  assert.equal(result.completed, 2);
  assert.equal(result.error_summary.by_cause.client, 1);
});

test('runReplay: a subscriber that throws (a bug) stops the run there; what was measured is kept and the error returned', async () => {
  const reqs = [
    traceRequest(0, { arrivalS: 0, inputTokens: 16, outputTokens: 3 }),
    traceRequest(1, { arrivalS: 0.3, inputTokens: 19, outputTokens: 5 }),
    traceRequest(2, { arrivalS: 5, inputTokens: 16, outputTokens: 3 }),
  ];
  let calls = 0;
  const t0 = Date.now();
  const { result, records, internalError } = await runReplay(config(reqs), {
    onRequestEvent(type, rec) {
      if (type === 'sent' && rec.index === 1) throw new Error('controller hook bug');
    },
    onTokenChunk: () => calls++,
  });
  assert.equal(internalError?.message, 'controller hook bug');
  assert.equal(result.internal_error, 'controller hook bug');
  assert.equal(records[0].status, 'ok', 'the finished request is kept');
  assert.equal(records[1].errorCause, 'client');
  assert.match(records[1].errorDetail ?? '', /^run stopped by an internal error: controller hook bug/);
  assert.equal(records[2].status, 'pending', 'never issued');
  assert.ok(Date.now() - t0 < 4000, 'stopped at once, not at the end of the schedule');
  assert.equal(calls, 3, 'later hook calls are skipped once one has thrown');
});
