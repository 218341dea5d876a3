import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadTrace, openTrace } from '../../src/trace/open.js';
import { azureCsv, fixtureDir, isInputError } from './fixtures.js';

const fx = fixtureDir();
after(() => fx.cleanup());

const OK1 = '2023-11-16 18:15:46.6805900,374,44';
const OK2 = '2023-11-16 18:15:50.9951690,396,109';

const azureCases: [string, string, string][] = [
  ['missing field', '2023-11-16 18:15:50.9951690,396', 'GeneratedTokens: missing'],
  ['negative tokens', '2023-11-16 18:15:50.9951690,-396,109', 'ContextTokens: negative (-396)'],
  ['non-numeric tokens', '2023-11-16 18:15:50.9951690,lots,109', "ContextTokens: not a number ('lots')"],
  ['non-integer tokens', '2023-11-16 18:15:50.9951690,396,10.5', 'GeneratedTokens: not an integer (10.5)'],
  ['unparsable timestamp', '2023-11-16T25:15:50.9951690,396,109', "TIMESTAMP: not a datetime ('2023-11-16T25:15:50.9951690'; expected YYYY-MM-DD HH:MM:SS.fffffff[+HH:MM])"],
  ['impossible date', '2023-02-30 18:15:50.9951690,396,109', "TIMESTAMP: not a datetime ('2023-02-30 18:15:50.9951690'; expected YYYY-MM-DD HH:MM:SS.fffffff[+HH:MM])"],
  ['empty timestamp', ',396,109', 'TIMESTAMP: missing'],
  ['time going backwards', '2023-11-16 18:15:45.6805900,396,109', 'TIMESTAMP: time goes backwards (-1.000000 s after the first row, previous row 0.000000 s)'],
  ['a token count of 1e23', '2023-11-16 18:15:50.9951690,100000000000000000000000,109', 'ContextTokens: 1e+23 is over the 2097152-token limit of one request'],
  ['zero output tokens', '2023-11-16 18:15:50.9951690,396,0', 'GeneratedTokens: 0: a request needs at least 1 token'],
];

for (const [name, bad, what] of azureCases) {
  test(`azure: ${name} stops with file:line: field, exit 2`, async () => {
    const file = fx.write(`azure-${name.replace(/ /g, '-')}.csv`, azureCsv([OK1, bad, OK2]));
    await assert.rejects(loadTrace(file), isInputError(`${file}:3: ${what}`));
  });
}

const mooncakeCases: [string, string, string][] = [
  ['invalid JSON', '{"timestamp": 5, "input_length": 10', 'json: not valid JSON'],
  ['not an object', '[1, 2, 3]', 'json: expected one JSON object per line'],
  ['missing input_length', '{"timestamp": 5, "output_length": 10}', 'input_length: missing'],
  ['string tokens', '{"timestamp": 5, "input_length": "ten", "output_length": 10}', 'input_length: not a number (\'ten\')'],
  ['negative output', '{"timestamp": 5, "input_length": 10, "output_length": -1}', 'output_length: negative (-1)'],
  ['fractional output', '{"timestamp": 5, "input_length": 10, "output_length": 2.5}', 'output_length: not an integer (2.5)'],
  ['non-numeric timestamp', '{"timestamp": "soon", "input_length": 10, "output_length": 2}', "timestamp: not a number ('soon')"],
  ['hash_ids not integers', '{"timestamp": 5, "input_length": 10, "output_length": 2, "hash_ids": ["a"]}', 'hash_ids: expected an array of integers'],
  ['time going backwards', '{"timestamp": 1, "input_length": 10, "output_length": 2}', 'timestamp: time goes backwards (-0.001000 s after the first row, previous row 0.000000 s)'],
  ['an input of 1e8 tokens', '{"timestamp": 5, "input_length": 100000000, "output_length": 2}', 'input_length: 100000000 is over the 2097152-token limit of one request'],
  ['an output of 1e300 tokens', '{"timestamp": 5, "input_length": 10, "output_length": 1e300}', 'output_length: 1e+300 is over the 2097152-token limit of one request'],
  ['an output of 0 tokens', '{"timestamp": 5, "input_length": 10, "output_length": 0}', 'output_length: 0: a request needs at least 1 token'],
  ['an infinite timestamp', '{"timestamp": 1e400, "input_length": 10, "output_length": 2}', 'timestamp: not a number (Infinity)'],
];

for (const [name, bad, what] of mooncakeCases) {
  test(`mooncake: ${name} stops with file:line: field, exit 2`, async () => {
    const file = fx.write(`mc-${name.replace(/ /g, '-')}.jsonl`, ['{"timestamp": 2, "input_length": 10, "output_length": 2}', bad, '{"timestamp": 9, "input_length": 10, "output_length": 2}', ''].join('\n'));
    await assert.rejects(loadTrace(file, { format: 'mooncake' }), isInputError(new RegExp(`^${escape(`${file}:2: ${what}`)}`)));
  });
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('skipBadRows skips and counts malformed rows, keeps the good ones, and says so', async () => {
  const rows = [
    OK1,
    '2023-11-16 18:15:47.0000000,x,1',
    OK2,
    '2023-11-16 18:15:48.0000000,5',
    '2023-11-16 18:15:48.0000000,7,8',
    'garbage,1,1',
    '2023-11-16 18:15:52.0000000,7,8',
  ];
  const file = fx.write('azure-skip.csv', azureCsv(rows));
  const { requests, stats } = await loadTrace(file, { skipBadRows: true });
  assert.deepEqual(requests.map((r) => r.sourceLine), [2, 4, 8]);
  assert.equal(stats.rowsSkipped, 4);
  assert.equal(stats.rowsRead, 3);
  assert.deepEqual(stats.skippedExamples, [
    `${file}:3: ContextTokens: not a number ('x')`,
    `${file}:5: GeneratedTokens: missing`,
    `${file}:6: TIMESTAMP: time goes backwards (1.319410 s after the first row, previous row 4.314579 s)`,
    `${file}:7: TIMESTAMP: not a datetime ('garbage'; expected YYYY-MM-DD HH:MM:SS.fffffff[+HH:MM])`,
  ]);
  assert.match(stats.warnings[0], /^skipped 4 malformed rows \(--skip-bad-rows\); first: .*:3: ContextTokens/);
  // Index and ids: index is the position in the stream, ids the position among valid source rows.
  assert.deepEqual(requests.map((r) => [r.index, r.id]), [[0, 'r0'], [1, 'r1'], [2, 'r2']]);
});

test('a missing file is exit 2 naming it', () => {
  assert.throws(() => openTrace('/nonexistent/dir/trace.csv'), isInputError('/nonexistent/dir/trace.csv: cannot read trace: no such file'));
});

test('a directory is not a trace', () => {
  assert.throws(() => openTrace(fx.dir), isInputError(`${fx.dir}: cannot read trace: a directory, not a regular file`));
});

test('an undetectable format lists the formats tried and points at --format', () => {
  const file = fx.write('mystery.csv', 'when,prompt,completion\n1,2,3\n');
  assert.throws(() => openTrace(file), isInputError(/mystery\.csv: cannot detect the trace format .*tried azure .*burstgpt .*mooncake .*orbitflow .*use --format/));
  const json = fx.write('mystery.jsonl', '{"t": 1, "in": 2, "out": 3}\n');
  assert.throws(() => openTrace(json), isInputError(/mystery\.jsonl: cannot detect the trace format/));
});

test('an unterminated CSV quote is reported with a line', async () => {
  const file = fx.write('azure-quote.csv', azureCsv([OK1, '"2023-11-16 18:15:50.9951690,396,109']));
  await assert.rejects(loadTrace(file), isInputError(/azure-quote\.csv:\d+: csv: /));
});

test('a bad row past --limit is never reached, so it does not stop the read', async () => {
  const file = fx.write('azure-late-bad.csv', azureCsv([OK1, OK2, '2023-11-16 18:15:51.0000000,1,1', '2023-11-16 18:15:52.0000000,x,1']));
  const { requests } = await loadTrace(file, { limit: 2 });
  assert.equal(requests.length, 2);
  await assert.rejects(loadTrace(file, { limit: 4 }), isInputError(`${file}:5: ContextTokens: not a number ('x')`));
});

test('line numbers count blank lines and line breaks inside quoted cells', async () => {
  const file = fx.write('generic-quoted.csv', 'note,t,i,o\r\n"two\r\nlines",1,2,3\r\n\r\nplain,2,x,3\r\n');
  await assert.rejects(loadTrace(file, { columns: 'time=t,input=i,output=o' }), isInputError(`${file}:5: i: not a number ('x')`));
});

test('a JSONL whose first line is over 64 KiB is still detected (Mooncake), and read', async () => {
  const hashIds = Array.from({ length: 30_000 }, (_, i) => i);
  const first = JSON.stringify({ timestamp: 0, input_length: 100_000, output_length: 4, hash_ids: hashIds });
  assert.ok(first.length > 64 * 1024);
  const file = fx.write('mc-long-first-line.jsonl', `${first}\n{"timestamp": 10, "input_length": 5, "output_length": 2}\n`);
  const { requests, format } = await loadTrace(file);
  assert.equal(format, 'mooncake');
  assert.equal(requests.length, 2);
  assert.equal(requests[0].hashIds?.length, 30_000);
});

test('a timestamp years away is a warning naming its line; --max-duration stops the trace there', async () => {
  const tenYearsMs = 10 * 365 * 86400 * 1000;
  const rows = [0, 1000, 2000, tenYearsMs].map((ts) => JSON.stringify({ timestamp: ts, input_length: 10, output_length: 2 }));
  const file = fx.write('mc-years.jsonl', `${rows.join('\n')}\n`);
  const all = await loadTrace(file);
  assert.equal(all.requests.length, 4);
  assert.ok(
    all.stats.warnings.some((w) => /^arrivals span 3650\.0 days \(the longest gap, 3650\.0 days, ends at line 4\): .*--max-duration/.test(w)),
    all.stats.warnings.join('\n'),
  );
  const bounded = await loadTrace(file, { maxDurationS: 60 });
  assert.deepEqual(bounded.requests.map((r) => r.arrivalS), [0, 1, 2]);
  assert.equal(bounded.stats.readToEnd, false);
  assert.ok(bounded.stats.warnings.some((w) => w === 'stopped at --max-duration 60 s: requests due later are not replayed'), bounded.stats.warnings.join('\n'));
  assert.ok(!bounded.stats.warnings.some((w) => w.startsWith('arrivals span')));
});
