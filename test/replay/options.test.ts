import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrbitflowError } from '../../src/core/errors.js';
import { checkAssertions, numericKeyPaths, parseAssertion, validateAssertions } from '../../src/replay/assertions.js';
import { parseGoodput, parsePercentiles, parseSlo } from '../../src/replay/parse-specs.js';
import { promptText, promptTokenIds, PROMPT_TOKEN_MAX, PROMPT_TOKEN_MIN } from '../../src/replay/prompt.js';
import { buildRequestBody } from '../../src/replay/request-body.js';
import { buildRunResult, type RunMetadata } from '../../src/replay/run-result.js';
import { runResultKeys } from '../../src/replay/result-keys.js';
import { scoredSloMetrics, type SloMetric, type SloSpec } from '../../src/replay/metrics-slo.js';
import { failedRecord, okRecord, traceRequest } from './records.js';

const usage = (fn: () => unknown, re: RegExp): void => {
  assert.throws(fn, (e: unknown) => OrbitflowError.is(e) && e.exitCode === 2 && re.test(e.message + (e.hint ?? '')));
};

interface Shape {
  goodput?: boolean;
  slo?: SloSpec;
  traceSlos?: SloMetric[];
  deposit?: boolean;
  percentiles?: number[];
  capped?: boolean;
}

/** The registry's keys for a run of these options. */
function keys(o: Shape = {}) {
  const slo = o.slo ?? {};
  const scored = scoredSloMetrics(slo, (o.traceSlos ?? []).map((m) => ({ slo: { [`${m}Ms`]: 50 } })));
  return runResultKeys({ percentiles: o.percentiles ?? [50, 99], slo, scored, deposit: o.deposit ?? false, goodput: o.goodput ?? false, capped: o.capped ?? false });
}

/** A real result of a run of these options: three requests, one failed, per-request SLOs where asked. */
function realResult(o: Shape) {
  const slo = o.traceSlos ? Object.fromEntries(o.traceSlos.map((m) => [`${m}Ms`, 50])) : undefined;
  const records = [okRecord(0, 0, [20, 30, 41], { slo }), okRecord(1, 5, [25, 33], { slo }), failedRecord(2, 9, 'timeout')];
  return buildRunResult(records, {
    durationS: 2,
    percentiles: o.percentiles ?? [50, 99],
    slo: o.slo ?? {},
    deposit: o.deposit ?? false,
    goodput: o.goodput ? { ttftMs: 100 } : undefined,
    maxErrorRate: 1,
    maxScheduleLagMs: 1000,
    interrupted: false,
    metadata: { percentiles: o.percentiles ?? [50, 99], api: 'completions', max_concurrency: o.capped ? 4 : null, start_time: new Date(0).toISOString(), model_name: 'm' } as unknown as RunMetadata,
  });
}

test('the key registry is exactly the numeric keys of real results, computed where a number, uncomputed where null', () => {
  const shapes: Shape[] = [
    {},
    { percentiles: [50, 90, 99.9], capped: true },
    { goodput: true, slo: { ttftMs: 100, tbtMs: 20 } },
    { slo: { tbtMs: 20, tpotMs: 15 }, deposit: true },
    { traceSlos: ['tpot', 'e2el'] },
    { slo: { ttftMs: 100 }, traceSlos: ['tbt'], deposit: true, capped: true },
  ];
  const skip = ['metadata.', 'controller', 'telemetry', 'internal_error'];
  for (const shape of shapes) {
    const actual = new Map(numericKeyPaths(realResult(shape)).filter((k) => !skip.some((p) => k.key.startsWith(p))).map((k) => [k.key, k.value !== null]));
    const registry = keys(shape);
    const listed = new Map(registry.map((k) => [k.key, k.hint === undefined]));
    assert.equal(listed.size, registry.length, 'a key is listed twice');
    for (const [key, computed] of actual) {
      // A section left null (slo_attainment without SLOs) shows as one null key; the registry lists its keys, all uncomputed.
      if (!computed && !listed.has(key)) {
        assert.ok([...listed].some(([k, c]) => k.startsWith(`${key}.`) && !c), `${JSON.stringify(shape)}: null section ${key} not in the registry`);
        continue;
      }
      assert.equal(listed.get(key), computed, `${JSON.stringify(shape)}: ${key} is ${computed ? 'a number' : 'null'} in a real result, registry says ${listed.get(key) === undefined ? 'nothing' : listed.get(key) ? 'computed' : 'uncomputed'}`);
    }
    for (const [key, computed] of listed) {
      if (actual.has(key)) continue;
      // Only keys inside a null section, or vLLM's client-queue keys of an uncapped run, are absent from a result.
      const inNullSection = [...actual].some(([k, c]) => !c && key.startsWith(`${k}.`));
      assert.ok(!computed && (inNullSection || /client_queue_time_ms$/.test(key)), `${JSON.stringify(shape)}: registry key ${key} is not in a real result`);
    }
  }
});

test('--assert parses KEY OP NUMBER with every operator', () => {
  assert.deepEqual(parseAssertion('p99_ttft_ms<=500'), { expr: 'p99_ttft_ms<=500', path: ['p99_ttft_ms'], op: '<=', threshold: 500 });
  assert.deepEqual(parseAssertion(' slo_attainment.tpot >= 0.9 ').path, ['slo_attainment', 'tpot']);
  for (const op of ['<', '<=', '>', '>=', '==']) assert.equal(parseAssertion(`completed${op}1e3`).op, op);
  assert.equal(parseAssertion('error_rate<.01').threshold, 0.01);
  usage(() => parseAssertion('p99_ttft_ms => 5'), /cannot parse/);
  usage(() => parseAssertion('p99_ttft_ms<=fast'), /cannot parse/);
  usage(() => parseAssertion('<=5'), /cannot parse/);
});

test('--assert keys are checked against the result these options produce, before the run', () => {
  const t = keys({ percentiles: [50, 90, 99] });
  validateAssertions([parseAssertion('p90_itl_ms<5'), parseAssertion('schedule_lag_ms.p99<1'), parseAssertion('error_summary.by_cause.timeout==0')], t);
  usage(() => validateAssertions([parseAssertion('p95_ttft_ms<5')], t), /unknown numeric key 'p95_ttft_ms'.*did you mean/);
  usage(() => validateAssertions([parseAssertion('tbt_source==1')], t), /unknown numeric key/);
  usage(() => validateAssertions([parseAssertion('metadata.request_timeout_s<1')], t), /unknown numeric key/);
  usage(() => validateAssertions([parseAssertion('request_goodput>1')], t), /not computed.*--goodput/);
  usage(() => validateAssertions([parseAssertion('slo_attainment.ttft>0.9')], t), /not computed.*--slo/);
  validateAssertions([parseAssertion('request_goodput>1')], keys({ goodput: true }));
  validateAssertions([parseAssertion('slo_attainment.tbt_tokens.attainment_no_td>0.9')], keys({ slo: { ttftMs: 1, tbtMs: 1 } }));
  usage(() => validateAssertions([parseAssertion('slo_attainment.tbt_tokens.attainment_td>0.9')], keys({ slo: { ttftMs: 1, tbtMs: 1 } })), /not computed/);
  validateAssertions([parseAssertion('slo_attainment.tbt_tokens.attainment_td>0.9')], keys({ slo: { ttftMs: 1, tbtMs: 1 }, deposit: true }));
  usage(() => validateAssertions([parseAssertion('p99_client_queue_time_ms<5')], t), /not computed.*--max-concurrency/);
  validateAssertions([parseAssertion('p99_client_queue_time_ms<5')], keys({ capped: true }));
  // A per-request SLO of the trace scores that metric without --slo.
  validateAssertions([parseAssertion('slo_attainment.tpot>0.9')], keys({ traceSlos: ['tpot'] }));
  usage(() => validateAssertions([parseAssertion('slo_attainment.slo_ms.tpot>1')], keys({ traceSlos: ['tpot'] })), /not computed/);
});

test('--assert checks report the actual value; a missing value fails', () => {
  const out = checkAssertions([parseAssertion('completed>=3'), parseAssertion('p99_ttft_ms<100'), parseAssertion('slo_attainment.all>0.5')], { completed: 3, p99_ttft_ms: 120.5, slo_attainment: null });
  assert.deepEqual(out, [
    { expr: 'completed>=3', actual: 3, passed: true },
    { expr: 'p99_ttft_ms<100', actual: 120.5, passed: false },
    { expr: 'slo_attainment.all>0.5', actual: null, passed: false },
  ]);
});

test('--slo, --goodput and --percentiles', () => {
  assert.deepEqual(parseSlo('ttft=500,tpot=50, tbt=100,e2el=20000'), { ttftMs: 500, tpotMs: 50, tbtMs: 100, e2elMs: 20000 });
  usage(() => parseSlo('ttft=fast'), /non-negative number/);
  usage(() => parseSlo('itl=5'), /NAME=MS/);
  assert.deepEqual(parseGoodput(['ttft:500', 'tpot:50']), { ttftMs: 500, tpotMs: 50 });
  assert.deepEqual(parseGoodput(['ttft:500,e2el:9']), { ttftMs: 500, e2elMs: 9 });
  usage(() => parseGoodput(['tbt:5']), /unknown metric 'tbt'/);
  usage(() => parseGoodput(['ttft:-1']), /non-negative/);
  assert.deepEqual(parsePercentiles('99,50,90,99.9'), [50, 90, 99, 99.9]);
  usage(() => parsePercentiles('50,101'), /\[0, 100\]/);
});

test('token-id prompts: exact length, safe id range, deterministic per (request, seed); prefix hashes share tokens', () => {
  const a = traceRequest(0, { inputTokens: 1300, hashIds: [7, 8, 9] });
  const ids = promptTokenIds(a, 42);
  assert.equal(ids.length, 1300);
  for (const t of ids) assert.ok(t >= PROMPT_TOKEN_MIN && t < PROMPT_TOKEN_MAX);
  assert.deepEqual(promptTokenIds(a, 42), ids);
  assert.notDeepEqual(promptTokenIds(a, 43), ids, 'another seed, other tokens');
  // Request b shares the first two 512-token blocks (hash 7, 8) and then differs.
  const b = promptTokenIds(traceRequest(5, { inputTokens: 1100, hashIds: [7, 8, 10] }), 42);
  assert.deepEqual(b.subarray(0, 1024), ids.subarray(0, 1024));
  assert.notDeepEqual(b.subarray(1024, 1100), ids.subarray(1024, 1100));
  // Without hash ids every request has tokens of its own.
  const c = promptTokenIds(traceRequest(1, { inputTokens: 64 }), 42);
  const d = promptTokenIds(traceRequest(2, { inputTokens: 64 }), 42);
  assert.notDeepEqual(c, d);
  // Hash ids covering fewer tokens than the input are padded to the input length.
  assert.equal(promptTokenIds(traceRequest(3, { inputTokens: 2000, hashIds: [1] }), 0).length, 2000);
});

test('text prompts have one word per input token; request bodies carry the streaming options', () => {
  const r = traceRequest(0, { inputTokens: 50, outputTokens: 7 });
  assert.equal(promptText(r, 1).split(' ').length, 50);
  const body = JSON.parse(buildRequestBody(r, { api: 'completions', prompt: 'token-ids', model: 'm', seed: 1 }).toString('utf8'));
  assert.equal(body.prompt.length, 50);
  assert.equal(body.max_tokens, 7);
  assert.equal(body.ignore_eos, true);
  assert.equal(body.temperature, 0);
  assert.deepEqual(body.stream_options, { include_usage: true, continuous_usage_stats: true });
  const chat = JSON.parse(buildRequestBody(r, { api: 'chat', prompt: 'text', model: 'm', seed: 1 }).toString('utf8'));
  assert.equal(chat.messages[0].role, 'user');
  assert.equal(chat.messages[0].content.split(' ').length, 50);
});
