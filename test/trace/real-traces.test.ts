import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadTrace } from '../../src/trace/open.js';
import { AZURE_CODE, AZURE_CONV, MOONCAKE_CONV } from '../helpers/paths.js';

/** Expected values computed independently: a naive split of the file, no csv-parse, no readline. */
function naiveCsv(file: string): { rows: number; inputSum: number; outputSum: number; first: string[]; last: string[] } {
  const lines = readFileSync(file, 'utf8').split('\r\n').slice(1).filter((l) => l !== '');
  const cells = lines.map((l) => l.split(','));
  return {
    rows: lines.length,
    inputSum: cells.reduce((a, c) => a + Number(c[1]), 0),
    outputSum: cells.reduce((a, c) => a + Number(c[2]), 0),
    first: cells[0],
    last: cells[cells.length - 1],
  };
}

function sums(reqs: { inputTokens: number; outputTokens: number }[]): { inputSum: number; outputSum: number } {
  return { inputSum: reqs.reduce((a, r) => a + r.inputTokens, 0), outputSum: reqs.reduce((a, r) => a + r.outputTokens, 0) };
}

test('azure conv: detected, every row read, first/last rows and token sums match a naive split', async () => {
  const expected = naiveCsv(AZURE_CONV);
  const { requests, format, stats } = await loadTrace(AZURE_CONV);
  assert.equal(format, 'azure');
  assert.equal(requests.length, 19_366);
  assert.equal(expected.rows, 19_366);
  assert.deepEqual(sums(requests), { inputSum: expected.inputSum, outputSum: expected.outputSum });
  assert.deepEqual(requests[0], { index: 0, id: 'r0', arrivalS: 0, inputTokens: Number(expected.first[1]), outputTokens: Number(expected.first[2]), sourceLine: 2 });
  const last = requests[requests.length - 1];
  assert.equal(last.inputTokens, Number(expected.last[1]));
  assert.equal(last.outputTokens, Number(expected.last[2]));
  assert.equal(last.sourceLine, 19_367);
  // 19:14:08.4025270 − 18:15:46.6805900, exact to the 7th digit (README: 3,501.7 s).
  assert.ok(Math.abs(last.arrivalS - 3501.721937) < 1e-9, String(last.arrivalS));
  assert.equal(stats.rowsSkipped, 0);
  assert.equal(stats.quantisation, null);
  assert.equal(stats.readToEnd, true);
  // Sorted, rebased.
  for (let i = 1; i < requests.length; i++) assert.ok(requests[i].arrivalS >= requests[i - 1].arrivalS);
});

test('azure code: row count, token sums, duration 3,435.9 s', async () => {
  const expected = naiveCsv(AZURE_CODE);
  const { requests, format } = await loadTrace(AZURE_CODE);
  assert.equal(format, 'azure');
  assert.equal(requests.length, 8_819);
  assert.deepEqual(sums(requests), { inputSum: expected.inputSum, outputSum: expected.outputSum });
  assert.equal(requests[0].inputTokens, Number(expected.first[1]));
  assert.equal(requests[8818].outputTokens, Number(expected.last[2]));
  // 19:14:19.9280160 − 18:17:03.9799600
  assert.ok(Math.abs(requests[8818].arrivalS - 3435.948056) < 1e-9);
});

test('mooncake conversation: detected, rows, sums, hash ids, duration 3,537.0 s, quantised on a ~3 s grid', async () => {
  const lines = readFileSync(MOONCAKE_CONV, 'utf8').split('\n').filter((l) => l !== '');
  const objs = lines.map((l) => JSON.parse(l) as { timestamp: number; input_length: number; output_length: number; hash_ids: number[] });
  const { requests, format, stats } = await loadTrace(MOONCAKE_CONV);
  assert.equal(format, 'mooncake');
  assert.equal(requests.length, 12_031);
  assert.deepEqual(sums(requests), {
    inputSum: objs.reduce((a, o) => a + o.input_length, 0),
    outputSum: objs.reduce((a, o) => a + o.output_length, 0),
  });
  assert.deepEqual(requests[0].hashIds, objs[0].hash_ids);
  assert.equal(requests[0].inputTokens, 6758);
  assert.equal(requests[12_030].arrivalS, 3536.999);
  assert.equal(requests[12_030].sourceLine, 12_031);
  assert.deepEqual(requests[12_030].hashIds, objs[12_030].hash_ids);
  assert.equal(stats.distinctTimestamps, 1_180);
  assert.ok(stats.quantisation !== null);
  assert.equal(stats.quantisation.distinctTimestamps, 1_180);
  assert.ok(Math.abs(stats.quantisation.gridMs - 3000) <= 5, String(stats.quantisation.gridMs));
  assert.ok(stats.warnings.some((w) => w.includes('--jitter 3000')), stats.warnings.join('\n'));
});

test('forcing the wrong format names the missing header columns', async () => {
  await assert.rejects(loadTrace(MOONCAKE_CONV, { format: 'azure' }), (err: Error & { exitCode?: number }) => {
    assert.equal(err.exitCode, 2);
    assert.match(err.message, /conversation\.jsonl:1: header: missing columns 'TIMESTAMP', 'ContextTokens', 'GeneratedTokens'/);
    return true;
  });
});
