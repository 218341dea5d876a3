import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadTrace, openTrace } from '../../src/trace/open.js';
import { parseDateTime, secondsBetween } from '../../src/trace/timestamp.js';
import { fixtureDir, isInputError } from './fixtures.js';

const fx = fixtureDir();
after(() => fx.cleanup());

test('azure 2024: tz-aware µs timestamps, exact to the digit, offsets honoured', async () => {
  const file = fx.write(
    'azure-2024.csv',
    [
      'TIMESTAMP,ContextTokens,GeneratedTokens',
      '2024-05-12 00:00:00.001163+00:00,1200,85',
      '2024-05-12 00:00:00.001164+00:00,44,12',
      '2024-05-12 02:00:01.500000+02:00,300,20',
      '2024-05-13 00:00:00+00:00,10,1',
    ].join('\n') + '\n',
  );
  const { requests, format } = await loadTrace(file);
  assert.equal(format, 'azure');
  assert.deepEqual(
    requests.map((r) => [r.arrivalS, r.inputTokens, r.outputTokens]),
    [
      [0, 1200, 85],
      [0.000001, 44, 12],
      [1.498837, 300, 20],
      [86399.998837, 10, 1],
    ],
  );
});

test('timestamps keep 100 ns digits that Date would drop', () => {
  const a = parseDateTime('2023-11-16 18:15:46.6805900')!;
  const b = parseDateTime('2023-11-16 18:15:46.6805901')!;
  assert.equal(secondsBetween(a, b), 1e-7);
  assert.equal(parseDateTime('2023-11-16 18:15:46.6805900+05:30')!.wholeS, a.wholeS - 5.5 * 3600);
  assert.equal(parseDateTime('2023-11-16 24:00:00'), undefined);
  assert.equal(parseDateTime('2023-11-16 18:15:46.1234567890'), undefined);
});

const BURST_HEADER = 'Session ID,Timestamp,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type';
const BURST_ROWS = [
  's1,5,3.2,ChatGPT,472,18,490,Conversation log',
  's2,45,9.1,GPT-4,1087,230,1317,Conversation log',
  ',118,0.4,ChatGPT,417,0,417,API log',
  's1,120.5,4.4,GPT-4,600,31,631,Conversation log',
  's3,300,2.0,ChatGPT,25,7,32,Conversation log',
];

test('burstgpt: read by header name with reordered and extra columns; failed requests dropped and counted', async () => {
  const file = fx.write('burst.csv', [BURST_HEADER, ...BURST_ROWS].join('\n') + '\n');
  const { requests, format, stats } = await loadTrace(file);
  assert.equal(format, 'burstgpt');
  assert.deepEqual(
    requests.map((r) => [r.arrivalS, r.inputTokens, r.outputTokens, r.class, r.sessionId, r.sourceLine]),
    [
      [0, 472, 18, 'ChatGPT', 's1', 2],
      [40, 1087, 230, 'GPT-4', 's2', 3],
      [115.5, 600, 31, 'GPT-4', 's1', 5],
      [295, 25, 7, 'ChatGPT', 's3', 6],
    ],
  );
  assert.equal(stats.rowsFiltered, 1);
  assert.ok(stats.warnings.includes('dropped 1 failed requests (Response tokens = 0)'), stats.warnings.join('\n'));
});

test('burstgpt: the classic column order and --filter-model', async () => {
  const file = fx.write(
    'burst-classic.csv',
    ['Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type', '5,ChatGPT,472,18,490,Conversation log', '45,GPT-4,1087,230,1317,Conversation log', '50,GPT-4,12,3,15,API log', '51,ChatGPT,1,1,2,API log'].join('\r\n'),
  );
  const { requests, stats } = await loadTrace(file, { filterModel: 'GPT-4' });
  // Rebased on the first kept row.
  assert.deepEqual(requests.map((r) => [r.arrivalS, r.inputTokens, r.class]), [[0, 1087, 'GPT-4'], [5, 12, 'GPT-4']]);
  assert.equal(stats.rowsFiltered, 2);
});

test('burstgpt: a malformed token cell names the column by its header name', async () => {
  const file = fx.write('burst-bad.csv', [BURST_HEADER, BURST_ROWS[0], 's9,50,1,GPT-4,-3,5,2,API log'].join('\n'));
  await assert.rejects(loadTrace(file), isInputError(`${file}:3: Request tokens: negative (-3)`));
});

function artifact(requests: Record<string, unknown>): string {
  return JSON.stringify({ batch_size: 4, max_model_len: 32384, num_gpu_blocks_override: 576, arrival_pattern: 'LognormalArrival(lambda=0.01,cv=2)', vocab: [200, 30000], requests }, null, 4);
}

test('orbitflow artifact JSON: arrival steps × stepMs, slo s/token → tpotMs, category → class, arrival order', async () => {
  const file = fx.write(
    'artifact.json',
    artifact({
      request_0: { category: 'SS_I192-304_O816-1216', input_length: 250, output_length: 900, arrival_time: 0, sched_time: 0, wait_time: 0 },
      request_2: { category: 'LL_I4096-8192_O4096-8192', input_length: 5000, output_length: 6000, arrival_time: 40, slo: 0.05 },
      request_1: { category: 'SS_I192-304_O816-1216', input_length: 200, output_length: 1000, arrival_time: 10 },
    }),
  );
  const { requests, format } = await loadTrace(file, { stepMs: 20 });
  assert.equal(format, 'orbitflow');
  assert.deepEqual(requests[0], { index: 0, id: 'request_0', arrivalS: 0, inputTokens: 250, outputTokens: 900, class: 'SS_I192-304_O816-1216', sourceLine: 11 });
  assert.deepEqual(
    requests.map((r) => [r.id, r.arrivalS, r.slo]),
    [
      ['request_0', 0, undefined],
      ['request_1', 0.2, undefined],
      ['request_2', 0.8, { tpotMs: 50 }],
    ],
  );
});

test('orbitflow artifact JSON: without stepMs exit 2 naming the file and --step-ms', async () => {
  const file = fx.write('artifact-nostep.json', artifact({ request_0: { input_length: 1, output_length: 1, arrival_time: 0 } }));
  await assert.rejects(loadTrace(file), isInputError(/^--step-ms: .*artifact-nostep\.json is an OrbitFlow artifact trace whose arrival_time is in decode steps/));
});

test('orbitflow artifact JSON: a bad field names the line of its request key', async () => {
  const file = fx.write('artifact-bad.json', artifact({ request_0: { input_length: 1, output_length: 1, arrival_time: 0 }, request_1: { input_length: 1.5, output_length: 1, arrival_time: 3 } }));
  await assert.rejects(loadTrace(file, { stepMs: 10 }), isInputError(`${file}:16: requests.request_1.input_length: not an integer (1.5)`));
});

test('generic CSV with --columns: named columns, ms time unit, ids', async () => {
  const file = fx.write('generic.csv', 'req,arrival_ms,prompt,gen\nA,1000,10,5\nB,1250.5,20,6\nC,4000,30,7\n');
  const trace = openTrace(file, { columns: 'time=arrival_ms,input=prompt,output=gen,id=req,time-unit=ms' });
  assert.equal(trace.format, 'csv');
  const got = [];
  for await (const r of trace.requests()) got.push([r.id, r.arrivalS, r.inputTokens, r.outputTokens]);
  assert.deepEqual(got, [
    ['A', 0, 10, 5],
    ['B', 0.2505, 20, 6],
    ['C', 3, 30, 7],
  ]);
});

test('generic JSONL with --columns: µs times and seconds by default', async () => {
  const us = fx.write('generic-us.jsonl', '{"t": 5000000, "i": 1, "o": 2}\n{"t": 5000250, "i": 3, "o": 4}\n');
  const a = await loadTrace(us, { columns: 'time=t,input=i,output=o,time-unit=us' });
  assert.equal(a.format, 'jsonl');
  assert.deepEqual(a.requests.map((r) => r.arrivalS), [0, 0.00025]);
  const s = fx.write('generic-s.jsonl', '{"t": 10, "i": 1, "o": 2}\n{"t": 12.5, "i": 3, "o": 4}\n');
  assert.deepEqual((await loadTrace(s, { format: 'jsonl', columns: 'time=t,input=i,output=o' })).requests.map((r) => r.arrivalS), [0, 2.5]);
});

test('generic: a missing column in a row names it; a bad --columns map is a usage error', async () => {
  const file = fx.write('generic-bad.jsonl', '{"t": 1, "i": 1, "o": 2}\n{"t": 2, "o": 4}\n');
  await assert.rejects(loadTrace(file, { columns: 'time=t,input=i,output=o' }), isInputError(`${file}:2: i: missing`));
  assert.throws(() => openTrace(file, { format: 'jsonl' }), isInputError(/^--columns: generic csv\/jsonl traces need a column map/));
  assert.throws(() => openTrace(file, { columns: 'time=t,input=i' }), isInputError(/^--columns: missing 'output=COLUMN'/));
  assert.throws(() => openTrace(file, { columns: 'time=t,input=i,output=o,time-unit=h' }), isInputError("--columns: time-unit must be s, ms or us, got 'h'"));
});

test('auto-detection picks the format from the header / first line', async () => {
  const cases: [string, string, string][] = [
    ['d.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:15:46.6805900,1,2', 'azure'],
    ['d-quoted.csv', '"TIMESTAMP","ContextTokens","GeneratedTokens"\n2023-11-16 18:15:46.6805900,1,2\n', 'azure'],
    ['d.jsonl', '{"timestamp": 0, "input_length": 1, "output_length": 2, "hash_ids": [0]}\n', 'mooncake'],
    ['b.csv', 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n1,GPT-4,1,2,3,API log\n', 'burstgpt'],
    ['a.json', artifact({ request_0: { input_length: 1, output_length: 1, arrival_time: 0 } }), 'orbitflow'],
    ['bom.csv', '\uFEFFTIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,1,2', 'azure'],
  ];
  for (const [name, text, format] of cases) {
    const file = fx.write(name, text);
    assert.equal(openTrace(file).format, format, name);
    const { requests } = await loadTrace(file, { stepMs: 10 });
    assert.equal(requests.length, 1, name);
  }
});
